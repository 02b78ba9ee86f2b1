#![no_main]
detek_fuzz::target!(scan);
