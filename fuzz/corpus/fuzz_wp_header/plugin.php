<?php
/*
Plugin Name: Contact Form 7
Plugin URI: https://contactform7.com/
Description: Just another contact form plugin. Simple but flexible.
Author: Takayuki Miyoshi
Text Domain: contact-form-7
Version: 5.3.1
*/
define( 'WPCF7_VERSION', '5.3.1' );
