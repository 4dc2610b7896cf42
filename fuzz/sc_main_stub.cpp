// libsystemc references sc_main (declared extern "C" by <systemc>); the fuzzers have
// libFuzzer's main and never start SystemC.
#include <systemc>

int sc_main(int, char*[]) { return 0; }
