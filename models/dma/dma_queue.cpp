#include "models/dma/dma_queue.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace systole {

namespace {
// Bytes a pattern costs the queue: chunks below the efficient size count as that size.
std::uint64_t ChargedBytes(const DmaConfig& config, const HbmPattern& p) {
  return p.chunks * std::max(p.chunk_bytes, config.efficient_chunk_bytes);
}
double QueueTimeNs(const DmaConfig& config, std::uint64_t charged_bytes) {
  return static_cast<double>(charged_bytes) / config.queue_bandwidth_gbps;  // GB/s = bytes/ns
}
}  // namespace

double DmaQueueTimeNs(const DmaConfig& config, const HbmPattern& p) {
  return QueueTimeNs(config, ChargedBytes(config, p));
}

DmaQueue::DmaQueue(sc_core::sc_module_name name, const CoreConfig& core, bool chunk_lists,
                   DmaEngines* engines, std::vector<Link>* links)
    : sc_core::sc_module(name),
      hbm("hbm"),
      scratchpad("scratchpad"),
      config_(core.dma),
      setup_(core.dma.setup_latency_ns, sc_core::SC_NS),
      extension_(new HbmPatternExtension),
      chunks_(new HbmChunksExtension),
      chunk_lists_(chunk_lists),
      engines_(engines),
      links_(links) {
  payload_.set_extension(extension_);
  payload_.set_data_ptr(nullptr);
  payload_.set_streaming_width(0);
}

DmaQueue::~DmaQueue() {
  payload_.clear_extension(extension_);
  delete extension_;
  if (payload_.get_extension<HbmChunksExtension>() != nullptr) {
    payload_.clear_extension(chunks_);
  }
  delete chunks_;
}

void DmaQueue::HbmAccess(const HbmPattern& pattern, bool read, sc_core::sc_time& delay) {
  extension_->pattern = pattern;
  payload_.set_command(read ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
  payload_.set_address(pattern.address);
  payload_.set_data_length(
      static_cast<unsigned int>(std::min<std::uint64_t>(pattern.bytes(), ~0u)));
  payload_.set_streaming_width(payload_.get_data_length());
  const bool strided =
      chunk_lists_ && pattern.chunks > 1 && pattern.stride_bytes != pattern.chunk_bytes;
  if (strided) {
    chunks_->chunks = HbmChunksExtension::Strided(pattern.address, pattern.chunk_bytes,
                                                  pattern.stride_bytes, pattern.chunks);
    if (payload_.get_extension<HbmChunksExtension>() == nullptr) payload_.set_extension(chunks_);
  } else if (payload_.get_extension<HbmChunksExtension>() != nullptr) {
    payload_.clear_extension(chunks_);
  }
  payload_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  hbm->b_transport(payload_, delay);
}

IssueTiming DmaQueue::IssueLink(const Instruction& in) {
  if (links_ == nullptr || in.stationary_cols >= links_->size()) {
    throw std::logic_error("dma_link instruction names link " + std::to_string(in.stationary_cols) +
                           " that the program does not define");
  }
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  sc_core::sc_time data_start = setup_;
  if (data_free_at_ > now) data_start = std::max(data_start, data_free_at_ - now);
  const sc_core::sc_time queue_time =
      queue_time_.Get(ChargedBytes(config_, in.hbm), [this](std::uint64_t charged) {
        return sc_core::sc_time(QueueTimeNs(config_, charged), sc_core::SC_NS);
      });
  data_free_at_ = now + data_start + queue_time;
  // Read the chunk to send; the link carries it once read (cut-through: from data start,
  // never ahead of the queue or the HBM read).
  sc_core::sc_time read_done = data_start;
  HbmAccess(in.hbm, /*read=*/true, read_done);
  const sc_core::sc_time delivered =
      (*links_)[in.stationary_cols].Transfer(now + data_start, in.hbm.bytes()) - now;
  // The chunk received from the peer (symmetric ranks: the same size) is written on
  // delivery; a reducing step reads both operands and writes the sum.
  sc_core::sc_time write_done = std::max(delivered, read_done);
  HbmAccess(in.hbm, /*read=*/false, write_done);
  if (in.accumulate) {
    HbmPattern both = in.hbm;
    both.chunks *= 2;
    both.stride_bytes = both.chunk_bytes;
    HbmAccess(both, /*read=*/true, write_done);
    HbmAccess(in.hbm, /*read=*/false, write_done);
  }
  const sc_core::sc_time data_end = std::max({data_start + queue_time, read_done, write_done});
  bytes_ += in.hbm.bytes() * (in.accumulate ? 5 : 2);
  IssueTiming t;
  t.occupancy = sc_core::SC_ZERO_TIME;
  t.latency = data_end;
  t.report_busy = true;
  t.busy = queue_time;
  return t;
}

IssueTiming DmaQueue::Issue(const Instruction& in) {
  if (in.op == Opcode::kDmaLink) return IssueLink(in);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const bool load = in.op == Opcode::kDmaLoad;
  sc_core::sc_time data_start = setup_;
  if (data_free_at_ > now) data_start = std::max(data_start, data_free_at_ - now);
  const OnChipRegion& tile = load ? in.dst : in.src0;
  sc_core::sc_time queue_time;
  sc_core::sc_time busy;  // data moving for this transfer (without waits for engines)
  if (engines_ != nullptr && engines_->enabled()) {
    // Absolute times on the shared engines; busy = the slowest engine's part.
    const sc_core::sc_time end = engines_->Transfer(now + data_start, in.hbm, tile, &busy);
    data_free_at_ = end;
    queue_time = end - now - data_start;  // includes waiting for engines other queues hold
  } else {
    queue_time = queue_time_.Get(ChargedBytes(config_, in.hbm), [this](std::uint64_t charged) {
      return sc_core::sc_time(QueueTimeNs(config_, charged), sc_core::SC_NS);
    });
    data_free_at_ = now + data_start + queue_time;
    busy = queue_time;
  }

  extension_->pattern = in.hbm;
  payload_.set_command(load ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
  payload_.set_address(in.hbm.address);
  payload_.set_data_length(static_cast<unsigned int>(std::min<std::uint64_t>(in.hbm.bytes(), ~0u)));
  payload_.set_streaming_width(payload_.get_data_length());
  const bool strided =
      chunk_lists_ && in.hbm.chunks > 1 && in.hbm.stride_bytes != in.hbm.chunk_bytes;
  if (strided) {
    chunks_->chunks = HbmChunksExtension::Strided(in.hbm.address, in.hbm.chunk_bytes,
                                                  in.hbm.stride_bytes, in.hbm.chunks);
    if (payload_.get_extension<HbmChunksExtension>() == nullptr) payload_.set_extension(chunks_);
  } else if (payload_.get_extension<HbmChunksExtension>() != nullptr) {
    payload_.clear_extension(chunks_);
  }
  payload_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time hbm_delay = data_start;
  hbm->b_transport(payload_, hbm_delay);

  const sc_core::sc_time sp_done = sp_access_.Access(scratchpad, tile, load, data_start);
  const sc_core::sc_time data_end = std::max({data_start + queue_time, hbm_delay, sp_done});
  bytes_ += in.hbm.bytes();
  IssueTiming t;
  t.occupancy = sc_core::SC_ZERO_TIME;
  t.latency = data_end;
  t.report_busy = true;
  t.busy = busy;
  return t;
}

}  // namespace systole
