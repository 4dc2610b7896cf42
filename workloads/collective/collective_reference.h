// Reference oracle for collective timing: every rank, every transfer.
//
// What it models
//   Each rank of a flat group runs its algorithm's transfers explicitly, with their data
//   dependencies: a ring step sends the chunks received in the previous step from both
//   neighbours (two counter-rotating rings, half the data each); a halving-doubling step
//   waits for its partner's data. Every resource a transfer crosses (source DMA queues,
//   each chip-to-chip link of its route, the network egress: LinkFabric::ResourcesOf)
//   serves the transfers that reach it first come, first served at its bandwidth; a
//   transfer is delivered when its last resource is done, plus its latency. Nothing is
//   assumed symmetric and nothing is synchronous.
//
// What it ignores
//   HBM (configure tests so HBM is not the bottleneck); a transfer's resources work
//   independently (cut-through), so a resource's turn does not wait for the others.
//
// It agrees with TimeCollective (the fast, synchronous-step model) exactly when every
// step's slowest resource is equally loaded everywhere, and is no slower otherwise (a
// rank after a fast link may run ahead).
#pragma once

#include "workloads/collective/collective.h"

namespace systole {

// Ring or halving-doubling all-reduce, reduce-scatter or all-gather of a flat group;
// call.algo must be kRing or kHalvingDoubling. Returns the time the last rank finishes.
double SimulateEveryRank(const ArchConfig& arch, const CollectiveCall& call);

}  // namespace systole
