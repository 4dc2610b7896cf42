// Test entry point. SystemC and gtest_main both define main(), so this file owns main:
// it initialises GoogleTest, then enters SystemC, whose sc_main runs the tests. ctest
// runs every test case in its own process (gtest_discover_tests), so each test may
// elaborate and start its own SystemC kernel once.
#include <gtest/gtest.h>

#include <systemc>

int sc_main(int /*argc*/, char* /*argv*/[]) { return RUN_ALL_TESTS(); }

int main(int argc, char* argv[]) {
  testing::InitGoogleTest(&argc, argv);
  return sc_core::sc_elab_and_sim(argc, argv);
}
