// Lowers a GEMM to the tensor engine's fold instructions.
//
// Folds are emitted column fold by column fold, and within a column fold row fold by row
// fold (the order SCALE-Sim uses), each with the PEs it actually uses, so edge folds carry
// their partial extents. Identical neighbouring folds are merged into one instruction
// with a repeat count; the repeats add up to MapGemm(...).folds().
#pragma once

#include <cstdint>
#include <vector>

#include "models/tensor_engine/systolic_timing.h"
#include "models/tensor_engine/tensor_engine.h"

namespace systole {

// Appends the folds of one GEMM to `program`, each tagged with `tag`.
void LowerGemmToFolds(Dataflow dataflow, const GemmShape& gemm, const ArrayShape& array,
                      std::uint32_t tag, std::vector<MatmulFoldInstr>& program);

}  // namespace systole
