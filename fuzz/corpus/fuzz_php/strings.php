<?php $a = 'it\'s'; echo "$a \x41\101\u{263A}"; ?>
<html>