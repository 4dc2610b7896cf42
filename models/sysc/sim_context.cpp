#include "models/sysc/sim_context.h"

#include <systemc>

namespace systole {

SimContext::SimContext()
    : context_(new sc_core::sc_simcontext()), previous_(sc_core::sc_curr_simcontext) {
  sc_core::sc_curr_simcontext = context_;
  sc_core::sc_default_global_context = context_;
}

SimContext::~SimContext() {
  delete context_;
  sc_core::sc_curr_simcontext = previous_;
  sc_core::sc_default_global_context = previous_;
}

}  // namespace systole
