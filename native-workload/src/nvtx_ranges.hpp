// NVTX3 (header-only) push/pop ranges with an int64 payload, so a trace says which iteration,
// layer and expert each kernel belongs to, and how many tokens that expert got.
#pragma once
#include <nvtx3/nvToolsExt.h>

#include <cstdint>
#include <string>

inline void pushRange(const std::string& name, int64_t payload = -1) {
  nvtxEventAttributes_t a = {};
  a.version = NVTX_VERSION;
  a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
  a.messageType = NVTX_MESSAGE_TYPE_ASCII;
  a.message.ascii = name.c_str();
  if (payload >= 0) {
    a.payloadType = NVTX_PAYLOAD_TYPE_INT64;
    a.payload.llValue = payload;
  }
  nvtxRangePushEx(&a);
}

inline void popRange() { nvtxRangePop(); }

// An expert's range text: "expert 7 weights=768x3072,3072x768:bf16" names the expert and its weight
// matrices (rows x columns, in the order its GEMMs read them) and their element type, so the trace
// says how many bytes a grouped kernel would stream (moe-trace's `grouped` what-if, docs/metrics.md).
inline std::string expertRangeName(int e, int dModel, int dFf, const char* dtype) {
  const std::string d = std::to_string(dModel), ff = std::to_string(dFf);
  return "expert " + std::to_string(e) + " weights=" + d + "x" + ff + "," + ff + "x" + d + ":" + dtype;
}
