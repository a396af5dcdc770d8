#include "checker/staleness.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

#include <fmt/format.h>

namespace kvlog::checker {

Quantiles Quantiles::Of(std::vector<int64_t> s) {
  Quantiles q;
  q.count = s.size();
  if (s.empty()) return q;
  std::sort(s.begin(), s.end());
  auto at = [&](double p) { return s[std::min(s.size() - 1, static_cast<size_t>(p * static_cast<double>(s.size())))]; };
  q.p50 = at(0.50);
  q.p90 = at(0.90);
  q.p99 = at(0.99);
  q.max = s.back();
  return q;
}

std::string Quantiles::ToString() const {
  if (count == 0) return "no samples";
  return fmt::format("n={} p50={} p90={} p99={} max={}", count, p50, p90, p99, max);
}

StalenessFigures MeasureStaleness(const std::vector<Operation>& ops) {
  StalenessFigures out;
  struct Ack {
    int64_t time, offset;
  };
  std::vector<Ack> acks;  // acknowledged writes, by acknowledgement time
  struct Seen {
    int64_t time, applied;
  };
  // Replicas by a dense id, in the order first seen: a few names, looked up
  // once per operation (in a map of strings, a string compare or three each).
  absl::flat_hash_map<std::string, uint32_t> replica_ids;
  auto replica_id = [&](std::string_view name) {
    if (auto it = replica_ids.find(absl::string_view(name.data(), name.size())); it != replica_ids.end()) {
      return it->second;
    }
    const auto id = static_cast<uint32_t>(replica_ids.size());
    replica_ids.emplace(std::string(name), id);
    return id;
  };
  std::vector<std::vector<Seen>> replicas;  // by id: observations, by time
  // By id: each replica's first invocation of any operation (it was open
  // from then on); kNotOpened when none carried a time.
  constexpr int64_t kNotOpened = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> opened;
  for (const Operation& o : ops) {
    if (o.ok() && !IsReadFunction(o.f) && o.offset && o.ret_time) acks.push_back({*o.ret_time, *o.offset});
    if (!o.replica) continue;
    const bool read = o.ok() && IsReadFunction(o.f) && o.applied && o.ret_time;
    if (!o.call_time && !read) continue;
    const uint32_t id = replica_id(*o.replica);
    if (id >= opened.size()) {
      opened.resize(id + 1, kNotOpened);
      replicas.resize(id + 1);
    }
    if (o.call_time) opened[id] = std::min(opened[id], *o.call_time);
    if (read) replicas[id].push_back({*o.ret_time, *o.applied});
  }
  std::sort(acks.begin(), acks.end(), [](const Ack& a, const Ack& b) { return a.time < b.time; });
  std::vector<int64_t> prefix_max(acks.size());
  for (size_t i = 0; i < acks.size(); ++i) prefix_max[i] = std::max(i ? prefix_max[i - 1] : INT64_MIN, acks[i].offset);
  std::vector<int64_t> behind_offsets, behind_ns, visibility;
  for (const Operation& o : ops) {
    if (!o.ok() || !IsReadFunction(o.f) || !o.applied || !o.call_time) continue;
    // Writes acknowledged before the read was invoked: acks[0, n).
    size_t n = std::lower_bound(acks.begin(), acks.end(), *o.call_time,
                                [](const Ack& a, int64_t t) { return a.time < t; }) -
               acks.begin();
    if (n == 0) {
      behind_offsets.push_back(0);
      behind_ns.push_back(0);
      continue;
    }
    behind_offsets.push_back(std::max<int64_t>(0, prefix_max[n - 1] + 1 - *o.applied));
    // The first acknowledged write with offset >= applied.
    size_t first = std::lower_bound(prefix_max.begin(), prefix_max.begin() + n, *o.applied) - prefix_max.begin();
    behind_ns.push_back(first < n ? *o.call_time - acks[first].time : 0);
  }
  for (std::vector<Seen>& seen : replicas) {
    std::sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) { return a.time < b.time; });
    for (size_t i = 1; i < seen.size(); ++i) seen[i].applied = std::max(seen[i].applied, seen[i - 1].applied);
  }
  // The replicas that were read, with their opening times (a replica no
  // invocation gave a time to is never counted open).
  struct Replica {
    int64_t opened;
    const std::vector<Seen>* seen;
  };
  std::vector<Replica> read_replicas;
  for (size_t id = 0; id < replicas.size(); ++id) {
    if (!replicas[id].empty()) read_replicas.push_back({opened[id], &replicas[id]});
  }
  // The acknowledgements in offset order: each replica's first observation
  // past an offset (its observations' positions only grow, as made above)
  // is then found by a cursor that only moves on, one pass over each
  // replica's observations in all, instead of a binary search per
  // acknowledgement and replica (half of this function's instructions on
  // kvsim's histories). A write's figure does not depend on the order the
  // writes are taken in, and the quantiles sort their samples.
  std::vector<Ack> by_offset = acks;
  std::sort(by_offset.begin(), by_offset.end(), [](const Ack& a, const Ack& b) { return a.offset < b.offset; });
  std::vector<size_t> cursor(read_replicas.size(), 0);
  for (const Ack& a : by_offset) {
    int64_t latest = a.time;
    bool everywhere = true;
    std::size_t counted = 0;
    for (size_t r = 0; r < read_replicas.size(); ++r) {
      const Replica& replica = read_replicas[r];
      const std::vector<Seen>& seen = *replica.seen;
      // A replica opened after the acknowledgement (one joining late, a
      // restarted process under its new name) replays the write at start-up:
      // counting it would charge its opening time to every earlier write.
      if (replica.opened > a.time) continue;
      ++counted;
      // The first observation (by time) past a.offset.
      size_t& at = cursor[r];
      while (at < seen.size() && seen[at].applied <= a.offset) ++at;
      if (at == seen.size()) {
        everywhere = false;
        break;
      }
      latest = std::max(latest, seen[at].time);
    }
    if (counted == 0) continue;  // No replica known to be open then was read.
    if (everywhere) {
      visibility.push_back(latest - a.time);
    } else {
      ++out.writes_never_seen_everywhere;
    }
  }
  out.available = !behind_offsets.empty() || !visibility.empty();
  out.read_offsets_behind = Quantiles::Of(std::move(behind_offsets));
  out.read_ns_behind = Quantiles::Of(std::move(behind_ns));
  out.write_visibility_ns = Quantiles::Of(std::move(visibility));
  return out;
}

}  // namespace kvlog::checker
