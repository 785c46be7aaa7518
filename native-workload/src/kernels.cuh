// The cuBLAS-free pieces of the MoE layer: weight init, router top-k, capacity slots,
// token permutation (dispatch), activation and the weighted combine. Each launcher takes the
// stream to run on so the modes in moe.cu decide where the work goes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

constexpr int kMaxTopK = 8;

template <typename T>
void launchFillUniform(T* p, size_t n, float scale, uint64_t seed, cudaStream_t s);

// logits: row-major [tokens, experts] fp32; bias: per-expert log-prior (Zipf skew) or zeros.
// Assignment a = slot * tokens + token, so every token's first choice outranks any second
// choice when capacity is short (GShard's priority order). pdl: launch as a programmatic
// dependent of the previous kernel (it waits for the logits itself).
void launchRouterTopK(const float* logits, const float* bias, int tokens, int experts, int topk,
                      int* assignExpert, float* assignGate, cudaStream_t s, bool pdl = false);

// Stable position of each assignment inside its expert (-1 when past capacity) and the number
// of tokens each expert keeps. Deterministic: positions follow assignment order.
void launchAssignSlots(const int* assignExpert, int assignments, int experts, int capacity,
                       int* assignPos, int* expertCount, cudaStream_t s);

// Copies each kept token row into its expert's slot of xDispatch [experts, capacity, dModel].
template <typename T>
void launchDispatch(const T* x, const int* assignExpert, const int* assignPos, int tokens,
                    int assignments, int dModel, int capacity, T* xDispatch, cudaStream_t s);

template <typename T>
void launchRelu(T* h, size_t n, cudaStream_t s);

// out[token] = sum over its kept assignments of gate * yDispatch[expert, pos]; dropped → 0.
template <typename T>
void launchCombine(const T* yDispatch, const int* assignExpert, const int* assignPos,
                   const float* assignGate, int tokens, int topk, int dModel, int capacity,
                   T* out, cudaStream_t s);
