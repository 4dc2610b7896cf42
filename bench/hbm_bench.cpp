// Speed of the HBM model: transactions/s of the fast model, directly and through the
// TLM-2.0 socket (b_transport with LT delay annotation, no wait), for 4 KiB..1 MiB
// sequential transfers on the baseline 2-stack HBM2E, a strided 128 x 512 B tile, and of
// the detailed reference model (bursts/s) for comparison.
#include <benchmark/benchmark.h>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>

#include "models/hbm/hbm.h"
#include "models/hbm/hbm_reference.h"
#include "models/sysc/sim_context.h"

namespace {

using systole::HbmConfig;
using systole::HbmPreset;

constexpr std::uint64_t kRegion = 1ull << 30;  // addresses wrap inside 1 GiB

void BM_HbmFastModel(benchmark::State& state) {
  const auto bytes = static_cast<std::uint64_t>(state.range(0));
  systole::HbmFastModel model(HbmPreset("hbm2e"));
  std::uint64_t t = 0;
  std::uint64_t address = 0;
  for (auto _ : state) {
    t = model.Access(t, address, bytes, false);  // back to back, one queue
    address = (address + bytes) % kRegion;
  }
  benchmark::DoNotOptimize(t);
  state.SetItemsProcessed(state.iterations());  // items = transactions
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_HbmFastModel)->RangeMultiplier(4)->Range(4 << 10, 1 << 20);

// An initiator that runs the benchmark loop inside its SystemC thread.
class BenchInitiator : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(BenchInitiator);
  tlm_utils::simple_initiator_socket<BenchInitiator> socket;
  BenchInitiator(sc_core::sc_module_name n, benchmark::State& state, std::uint64_t bytes,
                 std::uint64_t chunks)
      : sc_core::sc_module(n), socket("socket"), state_(state), bytes_(bytes), chunks_(chunks) {
    SC_THREAD(Run);
  }

 private:
  void Run() {
    tlm::tlm_generic_payload p;
    unsigned char dummy = 0;
    p.set_command(tlm::TLM_READ_COMMAND);
    p.set_data_ptr(&dummy);
    p.set_data_length(static_cast<unsigned>(bytes_ * chunks_));
    p.set_streaming_width(static_cast<unsigned>(bytes_ * chunks_));
    systole::HbmChunksExtension ext;
    if (chunks_ > 1) p.set_extension(&ext);
    sc_core::sc_time local = sc_core::SC_ZERO_TIME;  // LT local time, never synchronised
    std::uint64_t address = 0;
    for (auto _ : state_) {
      p.set_address(address);
      if (chunks_ > 1)
        ext.chunks = systole::HbmChunksExtension::Strided(address, bytes_, 8192, chunks_);
      sc_core::sc_time delay = local;
      socket->b_transport(p, delay);
      local = delay;
      address = (address + bytes_ * chunks_) % kRegion;
    }
    if (chunks_ > 1) p.clear_extension(&ext);
  }

  benchmark::State& state_;
  std::uint64_t bytes_;
  std::uint64_t chunks_;
};

void RunTlm(benchmark::State& state, std::uint64_t bytes, std::uint64_t chunks) {
  systole::SimContext context;
  systole::Hbm hbm("hbm", HbmPreset("hbm2e"));
  BenchInitiator dma("dma", state, bytes, chunks);
  dma.socket.bind(hbm.socket);
  sc_core::sc_start();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes * chunks));
}

void BM_HbmBTransport(benchmark::State& state) {
  RunTlm(state, static_cast<std::uint64_t>(state.range(0)), 1);
}
BENCHMARK(BM_HbmBTransport)->RangeMultiplier(4)->Range(4 << 10, 1 << 20);

void BM_HbmBTransportStridedTile(benchmark::State& state) {
  RunTlm(state, 512, 128);  // 128 rows of 512 B, 8 KiB apart: one 64 KiB tile
}
BENCHMARK(BM_HbmBTransportStridedTile);

void BM_HbmReference(benchmark::State& state) {
  const auto bytes = static_cast<std::uint64_t>(state.range(0));
  const systole::HbmReference ref(HbmPreset("hbm2e"));
  for (auto _ : state) {
    auto r = ref.Run({{0, 0, bytes, false}});
    benchmark::DoNotOptimize(r.completion_ps[0]);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_HbmReference)->Arg(4 << 10)->Arg(1 << 20)->Unit(benchmark::kMicrosecond);

}  // namespace
