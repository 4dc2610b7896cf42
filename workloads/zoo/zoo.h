// Model zoo builders: the forward graph of one micro-batch of a WorkloadConfig.
//
// What each family builds (b = micro_batch, s = sequence, h = hidden, a = heads):
//   gpt    GPT-2: token + learned position embeddings, per layer pre-LayerNorm attention
//          (separate q, k, v projections with biases; QK^T, softmax, AV as batched matmuls
//          over b*a heads, or one fused attention op) and a GELU MLP, final LayerNorm, LM
//          head (tied to the token embedding unless tie_embeddings = false), cross-entropy.
//   llama  Llama-3: token embedding, per layer RMSNorm, q/k/v projections without bias
//          (k and v with kv_heads heads: grouped-query attention), rotary embedding on q and
//          k, attention, output projection, RMSNorm, SwiGLU MLP (gate, up, down), final
//          RMSNorm, untied LM head, cross-entropy.
//   bert   BERT: word + position + token-type embeddings and LayerNorm, post-LayerNorm
//          encoder layers (GELU MLP), pooler (dense on the [CLS] rows; its tanh is not
//          modelled), next-sentence head and masked-LM head (dense, GELU, LayerNorm,
//          decoder tied to the word embedding plus an output bias) over every position, as
//          Hugging Face's BertForPreTraining computes it; two cross-entropy losses.
//   resnet ResNet v1.5 (stride in the 3x3 convolution), batch-norm after every
//          convolution, basic blocks for depth 18/34 and bottlenecks for 50/101/152, global
//          average pool, fully connected classifier with bias, cross-entropy.
//   mlp    Linear (+ bias) layers with the activation between them, cross-entropy.
// Parameters are created once per weight (a tied weight is one tensor), in the compute
// dtype (bf16 for bf16_mixed, fp32 otherwise); BatchNorm running statistics are buffers,
// not parameters. Token ids and labels are 4-byte integers (stored with Dtype::kFp32,
// which has their size). Op `layer` numbers the repeated blocks (transformer layers,
// ResNet residual blocks, MLP hidden layers); ops outside them have layer -1.
#pragma once

#include <cstdint>
#include <vector>

#include "workloads/graph/graph.h"
#include "workloads/zoo/workload_config.h"

namespace systole {

// Tensor parallelism (gpt and llama, `tp` > 1): the graph of one of `tp` ranks, split as
// Megatron-LM splits a transformer (Shoeybi et al. 2019, "Megatron-LM: Training
// Multi-Billion Parameter Language Models Using Model Parallelism", arXiv:1909.08053):
// q, k, v and the MLP's first matmuls (fc; gate and up) column-parallel (heads/tp query
// heads, ffn/tp columns per rank), the attention output and MLP output projections
// row-parallel (their contraction over hidden/tp and ffn/tp), the token embedding and the
// LM head vocab-parallel (ceil(vocab/tp) rows per rank; the cross-entropy over the rank's
// logits, as Megatron's parallel cross-entropy). Norms, residual adds, position embeddings
// and biases of row-parallel layers are replicated. Key/value heads (llama) are split
// when kv_heads >= tp, otherwise each rank keeps one (replicated). The all-reduces that
// join the partial sums are not graph ops: the parallel run driver times them. `tp` must
// divide heads and ffn (and kv_heads or be a multiple of it), checked by the caller.
ForwardGraph BuildForwardGraph(const WorkloadConfig& config, std::uint64_t tp = 1);

// Token-table rows per tensor-parallel rank: ceil(vocab / tp).
std::uint64_t ShardVocab(std::uint64_t vocab, std::uint64_t tp);

}  // namespace systole
