#![no_main]
detek_fuzz::target!(config);
