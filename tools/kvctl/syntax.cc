#include "tools/kvctl/syntax.h"

#include <limits>

#include <fmt/format.h>

#include "tools/cli/cli.h"

namespace kvlog::kvctl {
namespace {

constexpr std::size_t kMaxShown = 60;

std::string Shown(std::string_view text) {
  return std::string(text.size() <= kMaxShown ? text : text.substr(0, kMaxShown)) +
         (text.size() > kMaxShown ? "..." : "");
}

std::unexpected<std::string> Error(std::size_t line, const std::string& message) {
  return std::unexpected(fmt::format("line {}: {}", line, message));
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// One token of a compare line: a word, a quoted text, or one of ( ) =.
struct Token {
  enum class Kind { kWord, kQuoted, kPunct } kind;
  std::string text;
};

// Splits a line. `punctuation`: ( ) = and the operators etcd knows end a
// word and are tokens of their own (compare lines); otherwise words end only
// at whitespace (write lines, whose keys and values may hold them).
std::expected<std::vector<Token>, std::string> Tokenize(std::string_view line, std::size_t number,
                                                        bool punctuation) {
  std::vector<Token> out;
  const std::string_view puncts = "()=<>!";
  std::size_t i = 0;
  while (i < line.size()) {
    if (IsSpace(line[i])) {
      ++i;
    } else if (line[i] == '#') {
      break;
    } else if (line[i] == '"') {
      const std::size_t close = line.find('"', i + 1);
      if (close == std::string_view::npos) {
        return Error(number,
                     fmt::format("a quote opened at column {} is not closed (write a '\"' inside as \\x22)", i + 1));
      }
      out.push_back({Token::Kind::kQuoted, std::string(line.substr(i + 1, close - i - 1))});
      i = close + 1;
    } else if (punctuation && puncts.find(line[i]) != std::string_view::npos) {
      std::size_t j = i + 1;
      if (line[i] != '(' && line[i] != ')' && j < line.size() && line[j] == '=') ++j;  // ==, !=, <=, >=
      out.push_back({Token::Kind::kPunct, std::string(line.substr(i, j - i))});
      i = j;
    } else {
      std::size_t j = i;
      while (j < line.size() && !IsSpace(line[j]) && line[j] != '"' &&
             !(punctuation && puncts.find(line[j]) != std::string_view::npos)) {
        ++j;
      }
      out.push_back({Token::Kind::kWord, std::string(line.substr(i, j - i))});
      i = j;
    }
  }
  return out;
}

std::expected<std::string, std::string> DecodeText(const Token& token, Encoding encoding, std::size_t number,
                                                   const std::string& what) {
  auto bytes = Decode(token.text, encoding);
  if (!bytes) {
    return Error(number, what + " '" + Shown(token.text) + "' is not valid --encoding " +
                             std::string(EncodingName(encoding)) + " text: " + bytes.error());
  }
  return std::move(*bytes);
}

std::expected<TxnCompare, std::string> ParseCompare(std::string_view line, std::size_t number, Encoding encoding) {
  auto tokens = Tokenize(line, number, true);
  KVLOG_RETURN_IF_ERROR(tokens);
  const auto& t = *tokens;
  const std::string expected_form = "expected version(KEY) = N, absent(KEY) or present(KEY)";
  if (t.empty() || t[0].kind != Token::Kind::kWord) return Error(number, expected_form);
  TxnCompare compare;
  const std::string& name = t[0].text;
  if (name == "version" || name == "mod") {
    compare.kind = TxnCompare::Kind::kVersion;
  } else if (name == "absent") {
    compare.kind = TxnCompare::Kind::kAbsent;
  } else if (name == "present") {
    compare.kind = TxnCompare::Kind::kPresent;
  } else if (name == "put" || name == "del" || name == "delete") {
    return Error(number, "'" + name + "' in the compares section: the compares come first (with none, start with an "
                         "empty line)");
  } else {
    return Error(number, "unknown compare '" + Shown(name) + "'; " + expected_form);
  }
  if (t.size() < 4 || t[1].text != "(" || t[1].kind != Token::Kind::kPunct || t[2].kind == Token::Kind::kPunct ||
      t[3].text != ")" || t[3].kind != Token::Kind::kPunct) {
    return Error(number, name + " takes one key in parentheses: " + name + "(KEY)");
  }
  auto key = DecodeText(t[2], encoding, number, "key");
  KVLOG_RETURN_IF_ERROR(key);
  compare.key = std::move(*key);
  if (compare.kind != TxnCompare::Kind::kVersion) {
    if (t.size() != 4) return Error(number, "unexpected '" + Shown(t[4].text) + "' after " + name + "(KEY)");
    return compare;
  }
  if (t.size() < 6 || t[4].kind != Token::Kind::kPunct) {
    return Error(number, name + "(KEY) needs a version: " + name + "(KEY) = N");
  }
  if (t[4].text != "=" && t[4].text != "==") {
    return Error(number, "only '=' compares a version (got '" + t[4].text + "'); a version is matched exactly");
  }
  if (t[5].kind == Token::Kind::kPunct) return Error(number, "expected a version after '='");
  auto version = cli::ParseInt(t[5].text, 0, std::numeric_limits<int64_t>::max());
  if (!version) return Error(number, "version '" + Shown(t[5].text) + "': " + version.error());
  if (t.size() != 6) return Error(number, "unexpected '" + Shown(t[6].text) + "' after the version");
  compare.version = *version;
  return compare;
}

std::expected<TxnWrite, std::string> ParseWrite(std::string_view line, std::size_t number, Encoding encoding) {
  auto tokens = Tokenize(line, number, false);
  KVLOG_RETURN_IF_ERROR(tokens);
  const auto& t = *tokens;
  const std::string expected_form = "expected put KEY VALUE or del KEY";
  if (t.empty() || t[0].kind != Token::Kind::kWord) return Error(number, expected_form);
  TxnWrite write;
  const std::string& op = t[0].text;
  if (op == "put") {
    if (t.size() != 3) return Error(number, fmt::format("put takes KEY VALUE ({} given)", t.size() - 1));
    auto value = DecodeText(t[2], encoding, number, "value");
    KVLOG_RETURN_IF_ERROR(value);
    write.value = std::move(*value);
  } else if (op == "del" || op == "delete") {
    if (t.size() != 2) return Error(number, fmt::format("{} takes KEY ({} given)", op, t.size() - 1));
  } else if (op == "get" || op == "range") {
    return Error(number, op + " is not part of a transaction here: a transaction only writes (" + expected_form + ")");
  } else {
    return Error(number, "unknown write '" + Shown(op) + "'; " + expected_form);
  }
  auto key = DecodeText(t[1], encoding, number, "key");
  KVLOG_RETURN_IF_ERROR(key);
  write.key = std::move(*key);
  return write;
}

}  // namespace

std::expected<kv::ReadLevel, std::string> ParseReadLevel(std::string_view text) {
  const std::string usage = "expected local, linearizable, bounded:N or at_least:POSITION";
  if (text == "local") return kv::ReadLevel::Local();
  if (text == "linearizable") return kv::ReadLevel::Linearizable();
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::unexpected("--read '" + Shown(text) + "': " + usage);
  const std::string_view name = text.substr(0, colon);
  const std::string_view number = text.substr(colon + 1);
  if (name != "bounded" && name != "at_least" && name != "at-least") {
    return std::unexpected("--read '" + Shown(text) + "': " + usage);
  }
  auto n = cli::ParseInt(number, 0, std::numeric_limits<int64_t>::max());
  if (!n) {
    return std::unexpected("--read '" + Shown(text) + "': " +
                           (name == "bounded" ? "the lag in records: " : "the position: ") + n.error());
  }
  return name == "bounded" ? kv::ReadLevel::Bounded(*n) : kv::ReadLevel::AtLeast(*n);
}

std::expected<TxnSpec, std::string> ParseTxn(std::string_view text, Encoding encoding) {
  TxnSpec spec;
  int section = 0;  // 0 compares, 1 success writes, 2 failure writes.
  std::size_t number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t first = 0;
    while (first < line.size() && IsSpace(line[first])) ++first;
    if (first == line.size()) {
      ++section;  // An empty line ends a section.
      continue;
    }
    if (line[first] == '#') continue;
    if (section > 2) {
      return Error(number, "a transaction has three sections (compares, writes if they hold, writes otherwise), "
                           "each ended by an empty line; this line is after the third");
    }
    if (section == 0) {
      auto compare = ParseCompare(line, number, encoding);
      KVLOG_RETURN_IF_ERROR(compare);
      spec.compares.push_back(std::move(*compare));
    } else {
      auto write = ParseWrite(line, number, encoding);
      KVLOG_RETURN_IF_ERROR(write);
      (section == 1 ? spec.then_writes : spec.else_writes).push_back(std::move(*write));
    }
  }
  if (spec.then_writes.empty() && spec.else_writes.empty()) {
    return std::unexpected(std::string(
        "the transaction writes nothing: give the compares, an empty line, the writes to make if they hold, an "
        "empty line, the writes to make otherwise"));
  }
  return spec;
}

}  // namespace kvlog::kvctl
