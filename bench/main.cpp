// Google Benchmark entry point for all of bench/*.cpp. SystemC owns main(), so the
// benchmarks run from sc_main (see tests/main.cpp for the same pattern).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <systemc>

int sc_main(int argc, char* argv[]) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
