// Producer fusion: element-wise ops of a training step folded into the epilogue of the
// matmul that produces their input (the matmul kernel's epilogue, workloads/kernel/
// reference_kernels.h), so the intermediate tensor is not written to HBM and read back.
//
// What fuses (forward, recompute and backward alike), as a chain from a producer:
//   producer   a matmul with batch 1 (weight matmuls and their input gradients; batched
//              attention matmuls are not producers) or a convolution / its input
//              gradient, whose single output does not accumulate (out += would make the
//              epilogue see a partial sum)
//   consumers  bias add (matmul producers only: the bias runs along the output columns),
//              relu / gelu / silu, a two-input add of a same-shaped tensor (residual), and
//              the activation gradients relu_grad / gelu_grad / silu_grad whose incoming
//              gradient dy is the chain tensor (backward: the activation gradient fuses into
//              the input-gradient matmul of the next layer, which produces its dy; the saved
//              x or y is loaded like a residual), and swiglu into the `up` matmul (the
//              gate, computed before, is loaded; silu(gate) x up in the epilogue)
//   A consumer joins the chain when it is the only fusable reader of the chain tensor, the
//   chain tensor has no other writer, its output (same element count) does not accumulate
//   and nothing before it touches that output, its other inputs (bias, residual, saved
//   activation) are not written between the producer and it (they are read in the
//   producer's epilogue; the optimizer's later weight update does not matter),
//   and it is in the producer's phase. A chain tensor that other ops also read (e.g. the
//   pre-activation saved for the backward pass) is still written once by the epilogue
//   ("store" step) but no longer read back by the consumer.
// What does not fuse, and why:
//   softmax, layer/RMS/batch norm, cross-entropy: they need a reduction along the full
//     row, which an output row block of the matmul does not hold;
//   bias gradient: a column sum over all rows of dy (a reduction across partitions);
//   swiglu into the gate matmul (up is computed after it), swiglu_grad (two outputs, the
//     epilogue has one), rotary: needs its sin/cos tables and pairs of columns,
//     accumulating adds (gradient fan-in): they read the buffer;
//   attention (already one fused op), embeddings, pooling, optimizer ops.
// Fused ops keep their FLOPs (totals stay exact) and are marked with fused_into; the
// producer carries the group's HBM traffic: every tensor read from outside the group
// once, every tensor written that some op outside the group reads (or that outlives the
// step) once.
// A chain tensor that only the next op of the chain reads is marked on_chip_only: it is
// never written to HBM, so the footprint (footprint.h) does not count it.
// What it ignores: fusion of element-wise ops among themselves, fusing into attention or
// embedding producers.
#pragma once

#include <cstddef>
#include <vector>

#include "workloads/graph/graph.h"

namespace systole {

// phases: the step's op lists in execution order (forward, backward, optimizer). Marks
// fused ops and their producers in `graph`; returns the number of ops fused.
std::size_t FuseIntoProducers(Graph& graph, const std::vector<std::vector<OpId>>& phases);

}  // namespace systole
