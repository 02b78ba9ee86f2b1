#![no_main]
detek_fuzz::target!(api_list);
