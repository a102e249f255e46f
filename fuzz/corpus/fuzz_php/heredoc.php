<?php
$t = <<<EOT
  hello {$name}
  EOT;
$n = <<<'NOW'
raw $x
NOW;
