#![no_main]
detek_fuzz::target!(known_components);
