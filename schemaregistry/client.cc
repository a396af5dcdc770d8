#include "schemaregistry/client.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace kvlog::schemaregistry {
namespace {

using nlohmann::json;

constexpr std::string_view kContentType = "application/vnd.schemaregistry.v1+json";
constexpr std::string_view kAccept = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json";
// How much of an unexpected response body an error message repeats.
constexpr std::size_t kMaxBodyInError = 200;

ErrorCode CodeForStatus(int status) {
  if (status == 404) return ErrorCode::kNotFound;
  if (status == 409 || status == 401 || status == 403) return ErrorCode::kFailedPrecondition;
  if (status == 422 || status == 400) return ErrorCode::kInvalidArgument;
  if (status >= 500 || status == 429) return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

// The registry's {"error_code", "message"}, or the start of the body.
std::string DescribeErrorBody(const std::string& body) {
  try {
    json parsed = json::parse(body);
    if (parsed.is_object() && parsed.contains("message")) {
      std::string out = parsed.value("message", std::string());
      if (parsed.contains("error_code")) out += " (error_code " + parsed["error_code"].dump() + ")";
      return out;
    }
  } catch (const json::exception&) {
  }
  return body.size() <= kMaxBodyInError ? body : body.substr(0, kMaxBodyInError) + "...";
}

std::vector<SchemaReference> ReferencesFrom(const json& parsed) {
  std::vector<SchemaReference> out;
  if (!parsed.contains("references") || !parsed["references"].is_array()) return out;
  for (const json& ref : parsed["references"]) {
    out.push_back(SchemaReference{ref.value("name", std::string()), ref.value("subject", std::string()),
                                  ref.value("version", 0)});
  }
  return out;
}

Schema SchemaFrom(const json& parsed) {
  Schema schema;
  schema.schema = parsed.at("schema").get<std::string>();
  schema.schema_type = parsed.value("schemaType", std::string(kAvro));
  schema.references = ReferencesFrom(parsed);
  return schema;
}

}  // namespace

std::string EncodePathSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

Result<std::unique_ptr<Client>> Client::Open(ClientOptions options) {
  const std::string& url = options.url;
  const std::size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "schema registry url \"" + url + "\" must start with http:// or https://");
  }
  const std::size_t path_start = url.find('/', scheme_end + 3);
  const std::string scheme_host_port = url.substr(0, path_start);
  std::string base_path = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!base_path.empty() && base_path.back() == '/') base_path.pop_back();
  if (scheme_host_port.size() <= scheme_end + 3) {
    return MakeError(ErrorCode::kInvalidArgument, "schema registry url \"" + url + "\" has no host");
  }
  auto http = std::make_unique<httplib::Client>(scheme_host_port);
  if (!http->is_valid()) {
    return MakeError(ErrorCode::kInvalidArgument, "schema registry url \"" + url + "\" is not a valid http(s) url");
  }
  http->set_connection_timeout(options.connect_timeout);
  http->set_read_timeout(options.read_timeout);
  if (options.basic_auth) http->set_basic_auth(options.basic_auth->first, options.basic_auth->second);
  return std::unique_ptr<Client>(new Client(std::move(options), std::move(base_path), std::move(http)));
}

Client::Client(ClientOptions options, std::string base_path, std::unique_ptr<httplib::Client> http)
    : options_(std::move(options)), base_path_(std::move(base_path)), http_(std::move(http)) {}

Client::~Client() = default;

std::size_t Client::requests_sent() const {
  std::lock_guard lock(mu_);
  return requests_sent_;
}

Result<std::string> Client::Send(std::string_view method, const std::string& path, const std::string* body,
                                 std::string_view what) {
  const std::string full_path = base_path_ + path;
  const std::string request = std::string(method) + " " + full_path;
  httplib::Headers headers = {{"Accept", std::string(kAccept)}};
  httplib::Result result = body != nullptr ? http_->Post(full_path, headers, *body, std::string(kContentType))
                                           : http_->Get(full_path, headers);
  ++requests_sent_;
  if (!result) {
    return MakeError(ErrorCode::kUnavailable, std::string(what) + ": " + request + " to " + options_.url +
                                                  " failed: " + httplib::to_string(result.error()));
  }
  if (result->status != 200) {
    return MakeError(CodeForStatus(result->status), fmt::format("{}: {} returned HTTP {}: {}", what, request,
                                                                result->status, DescribeErrorBody(result->body)));
  }
  return std::move(result->body);
}

Result<int32_t> Client::Register(std::string_view subject, const Schema& schema) {
  json request = {{"schema", schema.schema}};
  if (schema.schema_type != kAvro) request["schemaType"] = schema.schema_type;
  if (!schema.references.empty()) {
    json refs = json::array();
    for (const SchemaReference& ref : schema.references) {
      refs.push_back({{"name", ref.name}, {"subject", ref.subject}, {"version", ref.version}});
    }
    request["references"] = std::move(refs);
  }
  std::string body;
  try {
    body = request.dump();
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("register: schema is not valid UTF-8: ") + e.what());
  }
  const std::string what = "register schema under subject \"" + std::string(subject) + "\"";

  std::lock_guard lock(mu_);
  auto key = std::make_pair(std::string(subject), body);
  if (auto it = registered_.find(key); it != registered_.end()) return it->second;
  auto response = Send("POST", "/subjects/" + EncodePathSegment(subject) + "/versions", &body, what);
  KVLOG_RETURN_IF_ERROR(response);
  try {
    const int32_t id = json::parse(*response).at("id").get<int32_t>();
    registered_.emplace(std::move(key), id);
    by_id_.emplace(id, schema);
    return id;
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInternal, what + ": unexpected response " + DescribeErrorBody(*response) + ": " +
                                               e.what());
  }
}

Result<Schema> Client::GetSchemaById(int32_t id) {
  const std::string what = fmt::format("look up schema id {}", id);
  std::lock_guard lock(mu_);
  if (auto it = by_id_.find(id); it != by_id_.end()) return it->second;
  auto response = Send("GET", fmt::format("/schemas/ids/{}", id), nullptr, what);
  KVLOG_RETURN_IF_ERROR(response);
  try {
    Schema schema = SchemaFrom(json::parse(*response));
    by_id_.emplace(id, schema);
    return schema;
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInternal, what + ": unexpected response " + DescribeErrorBody(*response) + ": " +
                                               e.what());
  }
}

Result<RegisteredSchema> Client::GetLatest(std::string_view subject) {
  const std::string what = "latest version of subject \"" + std::string(subject) + "\"";
  std::lock_guard lock(mu_);
  auto response = Send("GET", "/subjects/" + EncodePathSegment(subject) + "/versions/latest", nullptr, what);
  KVLOG_RETURN_IF_ERROR(response);
  try {
    json parsed = json::parse(*response);
    RegisteredSchema out;
    out.subject = parsed.value("subject", std::string(subject));
    out.id = parsed.at("id").get<int32_t>();
    out.version = parsed.at("version").get<int32_t>();
    out.schema = SchemaFrom(parsed);
    by_id_.emplace(out.id, out.schema);
    return out;
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInternal, what + ": unexpected response " + DescribeErrorBody(*response) + ": " +
                                               e.what());
  }
}

std::function<Status(int32_t)> Client::SchemaIdChecker() {
  return [this](int32_t id) -> Status {
    auto schema = GetSchemaById(id);
    KVLOG_RETURN_IF_ERROR(schema);
    return OkStatus();
  };
}

}  // namespace kvlog::schemaregistry
