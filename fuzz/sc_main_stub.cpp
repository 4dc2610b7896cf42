// libsystemc references sc_main; the fuzzers have libFuzzer's main and never start SystemC.
int sc_main(int, char*[]) { return 0; }
