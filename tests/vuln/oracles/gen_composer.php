<?php
// Writes N random version pairs for Composer (composer/semver's VersionParser::normalize
// followed by PHP's version_compare, as Composer compares) and N pairs of arbitrary strings
// for plain PHP version_compare (WordPress). usage: php gen_composer.php OUT_DIR N SEED
require_once '/usr/share/php/Composer/Semver/autoload.php';
use Composer\Semver\VersionParser;

[$_, $dir, $n, $seed] = $argv;
mt_srand((int)$seed);
$parser = new VersionParser();
function pick(array $a) { return $a[mt_rand(0, count($a) - 1)]; }
function num() { return (string)pick([0, 0, 1, 2, 3, 9, 10, 11, 99, 100, mt_rand(0, 99999)]); }
function rand_composer() {
  $v = pick(['', '', '', 'v', 'V']) . num();
  $k = mt_rand(0, 3);
  for ($i = 0; $i < $k; $i++) $v .= '.' . num();
  if (mt_rand(0, 99) < 40) {
    $v .= pick(['', '-', '.', '_']) . pick(['alpha', 'a', 'beta', 'b', 'RC', 'rc', 'patch', 'pl', 'p', 'stable', 'Beta', 'ALPHA']);
    $m = mt_rand(0, 2);
    for ($i = 0; $i < $m; $i++) $v .= pick(['', '.', '-']) . num();
  }
  if (mt_rand(0, 99) < 12) $v .= pick(['-dev', '.dev', 'dev', '-DEV']);
  if (mt_rand(0, 99) < 5) $v .= '+' . pick(['build1', 'sha.abc', '20200101']);
  return $v;
}
function mutate($v) {
  $r = mt_rand(0, 99);
  if ($r < 30) return $v . pick(['.0', '-beta1', 'RC2', '-p1', '.1', '-dev', 'a']);
  if ($r < 60) {
    $idx = [];
    for ($i = 0; $i < strlen($v); $i++) if (ctype_digit($v[$i])) $idx[] = $i;
    if ($idx) { $i = pick($idx); $v[$i] = (string)mt_rand(0, 9); return $v; }
  }
  return rand_composer();
}
function rand_php() {
  $alphabet = ['0', '1', '2', '9', '10', '.', '.', '-', '_', '+', 'a', 'b', 'p', 'dev', 'alpha', 'beta',
               'RC', 'rc', 'pl', 'x', '#', ' ', 'patch', '00'];
  $v = '';
  $k = mt_rand(1, 8);
  for ($i = 0; $i < $k; $i++) $v .= pick($alphabet);
  return $v;
}
$f = fopen("$dir/composer.tsv", 'w');
$written = 0;
while ($written < $n) {
  $a = rand_composer();
  $b = mt_rand(0, 99) < 60 ? mutate($a) : rand_composer();
  try { $na = $parser->normalize($a); $nb = $parser->normalize($b); } catch (\Exception $e) { continue; }
  if (strpos($na, 'dev-') === 0 || strpos($nb, 'dev-') === 0) continue;
  fwrite($f, "$a\t$b\t" . version_compare($na, $nb) . "\t$na\t$nb\n");
  $written++;
}
fclose($f);
$f = fopen("$dir/php.tsv", 'w');
for ($i = 0; $i < $n; $i++) {
  $a = rand_php();
  $b = mt_rand(0, 99) < 50 ? mutate($a) : rand_php();
  if (strpbrk($a . $b, "\t\n") !== false) { $i--; continue; }
  fwrite($f, "$a\t$b\t" . version_compare($a, $b) . "\n");
}
fclose($f);
