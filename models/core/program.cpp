#include "models/core/program.h"

namespace systole {

const char* OpcodeName(Opcode op) {
  switch (op) {
    case Opcode::kDmaLoad:
      return "dma_load";
    case Opcode::kDmaStore:
      return "dma_store";
    case Opcode::kMatmul:
      return "matmul";
    case Opcode::kVectorUnary:
      return "vector_unary";
    case Opcode::kVectorBinary:
      return "vector_binary";
    case Opcode::kVectorReduce:
      return "vector_reduce";
    case Opcode::kActivation:
      return "activation";
    case Opcode::kDmaLink:
      return "dma_link";
  }
  return "?";
}

const char* ActivationName(ActivationFn fn) {
  switch (fn) {
    case ActivationFn::kIdentity:
      return "identity";
    case ActivationFn::kExp:
      return "exp";
    case ActivationFn::kTanh:
      return "tanh";
    case ActivationFn::kGelu:
      return "gelu";
    case ActivationFn::kSilu:
      return "silu";
    case ActivationFn::kRsqrt:
      return "rsqrt";
    case ActivationFn::kSquare:
      return "square";
  }
  return "?";
}

}  // namespace systole
