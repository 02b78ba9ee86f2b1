#![no_main]
detek_fuzz::target!(tls_certificate);
