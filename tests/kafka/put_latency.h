// Shared by the Kafka tests: sequential Puts that must all succeed, with their
// latency printed (not a gate: the machine is shared; bench/ measures it).
#pragma once

#include "kv/client.h"

namespace kvlog::kv::testing {

// 200 Puts one after another; each must succeed. Prints p50 and p99 to stderr,
// labelled with `where`. Each Put is an append plus this client's own fetch.
void ReportPutLatency(Client& client, const char* where);

}  // namespace kvlog::kv::testing
