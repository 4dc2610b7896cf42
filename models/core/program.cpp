#include "models/core/program.h"

#include "sim/common/error.h"

namespace systole {

const char* DtypeName(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFp32:
      return "fp32";
    case Dtype::kBf16:
      return "bf16";
    case Dtype::kFp16:
      return "fp16";
    case Dtype::kFp8:
      return "fp8";
  }
  return "?";
}

Dtype ParseDtype(const std::string& text) {
  for (Dtype d : {Dtype::kFp32, Dtype::kBf16, Dtype::kFp16, Dtype::kFp8}) {
    if (text == DtypeName(d)) return d;
  }
  throw InputError("unknown dtype '" + text + "': expected one of fp32, bf16, fp16, fp8");
}

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
