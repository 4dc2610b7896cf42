// A fresh SystemC kernel for one simulation.
//
// SystemC allows one elaboration and one sc_start per kernel context. Systole gives every
// simulation its own context, so one process can run several simulations one after the
// other (tests, the GEMM sets of `systole run`, later sweeps): create a SimContext, build
// the modules, call sc_start, read the results, and destroy the modules before the
// SimContext goes out of scope. Not thread-safe: one simulation at a time per process.
#pragma once

namespace sc_core {
class sc_simcontext;
}

namespace systole {

class SimContext {
 public:
  SimContext();
  ~SimContext();
  SimContext(const SimContext&) = delete;
  SimContext& operator=(const SimContext&) = delete;

 private:
  sc_core::sc_simcontext* context_;
  sc_core::sc_simcontext* previous_;
};

}  // namespace systole
