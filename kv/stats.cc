#include "kv/stats.h"

#include <iterator>
#include <string_view>

#include <fmt/format.h>

namespace kvlog::kv {
namespace {

// A label value: backslash, double quote and newline escaped, exactly the
// three the exposition format names. (tools/kvctl's EncodeEscaped looks alike
// but is another format: it also escapes tabs, CRs and bytes outside UTF-8 as
// \xNN, and leaves double quotes alone; neither can serve the other.)
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

class Writer {
 public:
  explicit Writer(const std::string& client) : client_("client=\"" + LabelValue(client) + "\"") {}

  void Family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP kvlog_{} {}\n# TYPE kvlog_{} {}\n", name, help, name, type);
  }
  void Sample(std::string_view name, int64_t value, const std::string& extra_labels = {}) {
    fmt::format_to(std::back_inserter(out_), "kvlog_{}{{{}{}}} {}\n", name, client_, extra_labels, value);
  }
  void One(std::string_view name, std::string_view type, std::string_view help, int64_t value) {
    Family(name, type, help);
    Sample(name, value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string client_;
  std::string out_;
};

}  // namespace

std::string PrometheusText(const ClientStats& s) {
  Writer w(s.client_id);
  auto n = [](uint64_t v) { return static_cast<int64_t>(v); };
  w.One("applied_position", "gauge", "Next log offset the client will apply; everything below it is applied.",
        s.applied_position);
  if (s.end_offset) w.One("end_offset", "gauge", "The log's end offset (high watermark) when the stats were taken.", *s.end_offset);
  if (s.lag_records) w.One("lag_records", "gauge", "Records between the applied position and the log's end offset.", *s.lag_records);
  w.One("records_applied_total", "counter", "Log entries the applier read since the client opened.", n(s.records_applied));
  w.One("bytes_applied_total", "counter", "Key and value bytes of the changes applied.", n(s.bytes_applied));
  w.One("sets_applied_total", "counter", "Changes applied that set a value.", n(s.sets_applied));
  w.One("deletes_applied_total", "counter", "Tombstones applied.", n(s.deletes_applied));
  w.One("keys", "gauge", "Keys in the local store.", n(s.keys));
  w.One("gets_total", "counter", "Local key reads.", n(s.gets));
  w.One("get_hits_total", "counter", "Local key reads that found a value.", n(s.hits));
  w.One("get_misses_total", "counter", "Local key reads that found none.", n(s.misses));
  w.One("puts_total", "counter", "Puts this client appended.", n(s.puts));
  w.One("deletes_total", "counter", "Deletes this client appended.", n(s.deletes));
  w.One("commands_total", "counter", "Conditional writes, transactions and atomic batches this client appended.",
        n(s.commands));
  w.One("conditional_failures_total", "counter", "This client's conditions that the log decided false.",
        n(s.conditional_failures));
  w.One("writes_in_flight", "gauge", "Writes started and not yet finished.", n(s.writes_in_flight));
  w.One("max_writes_in_flight", "gauge", "The client's limit on writes in flight (0: none).", n(s.max_writes_in_flight));
  w.One("writes_refused_at_limit_total", "counter", "Async writes refused (ResourceExhausted) at the in-flight limit.",
        n(s.writes_refused_at_limit));
  w.One("writes_waited_at_limit_total", "counter", "Writes that waited for a slot at the in-flight limit.",
        n(s.writes_waited_at_limit));
  w.One("corrupt_records_total", "counter", "Records the applier could not decode and skipped.", n(s.corrupt_records));
  w.One("lost_writes_total", "counter", "Writes that failed with DataLoss.", n(s.lost_writes));
  w.One("reader_data_loss_total", "counter", "Times the log lost records below the reader.", n(s.reader_data_loss));
  w.One("watch_history_events", "gauge", "Records held in the watch history window.", n(s.watch_history_events));
  w.One("watch_oldest_start", "gauge", "The oldest version a watch can start after.", s.oldest_watch_start);
  w.One("watchers", "gauge", "Watchers open on this client.", static_cast<int64_t>(s.watchers.size()));
  if (!s.watchers.empty()) {
    w.Family("watcher_lag_records", "gauge", "Records a watcher's delivered changes are behind the applier.");
    for (const WatcherStats& ws : s.watchers) {
      w.Sample("watcher_lag_records", ws.lag,
               fmt::format(",watcher=\"{}\",key=\"{}\",prefix=\"{}\"", ws.id, LabelValue(ws.key), ws.prefix));
    }
    w.Family("watcher_buffered_events", "gauge", "Events a watcher holds that its consumer has not taken.");
    for (const WatcherStats& ws : s.watchers) {
      w.Sample("watcher_buffered_events", static_cast<int64_t>(ws.buffered), fmt::format(",watcher=\"{}\"", ws.id));
    }
  }
  return w.Take();
}

}  // namespace kvlog::kv
