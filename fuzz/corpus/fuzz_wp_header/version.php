<?php
/**
 * WordPress Version
 */
$wp_version = '5.8.1';
$wp_db_version = 49752;
