#include "schemaregistry/testing/fake_registry.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace kvlog::schemaregistry::testing {
namespace {

using nlohmann::json;

constexpr char kContentType[] = "application/vnd.schemaregistry.v1+json";

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), kContentType);
}

void ReplyError(httplib::Response& res, int status, int error_code, const std::string& message) {
  Reply(res, status, json{{"error_code", error_code}, {"message", message}});
}

}  // namespace

FakeSchemaRegistry::FakeSchemaRegistry() : server_(std::make_unique<httplib::Server>()) {
  Route();
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listener_done_.store(true);
  });
  // Requests would queue on the bound socket anyway, but Server::stop() does
  // nothing until the accept loop runs: a registry destroyed before that
  // would leave its thread accepting forever. So wait for the loop (or for
  // listen_after_bind to give up).
  while (!server_->is_running() && !listener_done_.load()) std::this_thread::yield();
}

FakeSchemaRegistry::~FakeSchemaRegistry() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeSchemaRegistry::url() const { return fmt::format("http://127.0.0.1:{}", port_); }

void FakeSchemaRegistry::set_failing(bool failing) {
  std::lock_guard lock(mu_);
  failing_ = failing;
}

std::vector<std::string> FakeSchemaRegistry::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeSchemaRegistry::Route() {
  // Runs before every handler: records the request, and fails it when asked.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    requests_.push_back(req.method + " " + req.path);
    if (!failing_) return httplib::Server::HandlerResponse::Unhandled;
    ReplyError(res, 500, 50001, "Error in the backend data store");
    return httplib::Server::HandlerResponse::Handled;
  });

  server_->Post(R"(/subjects/([^/]+)/versions)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string subject = req.matches[1];  // httplib has already percent-decoded the path.
    json request;
    try {
      request = json::parse(req.body);
    } catch (const json::exception& e) {
      ReplyError(res, 422, 42201, std::string("Invalid schema: ") + e.what());
      return;
    }
    const std::string schema = request.value("schema", std::string());
    const std::string type = request.value("schemaType", std::string("AVRO"));
    if (schema.empty()) return ReplyError(res, 422, 42201, "Invalid schema: empty");
    if (type != "AVRO" && type != "PROTOBUF" && type != "JSON") {
      return ReplyError(res, 422, 42201, "Invalid schema type " + type);
    }
    json references = request.value("references", json::array());
    const std::string canonical = json{{"schema", schema}, {"schemaType", type}, {"references", references}}.dump();

    std::lock_guard lock(mu_);
    int id = 0;
    for (std::size_t i = 0; i < schemas_.size(); ++i) {
      if (schemas_[i].canonical == canonical) id = static_cast<int>(i) + 1;
    }
    if (id == 0) {
      json body = {{"schema", schema}};
      if (type != "AVRO") body["schemaType"] = type;
      if (!references.empty()) body["references"] = references;
      schemas_.push_back(Stored{canonical, body.dump()});
      id = static_cast<int>(schemas_.size());
    }
    std::vector<int>& versions = subjects_[subject];
    if (std::find(versions.begin(), versions.end(), id) == versions.end()) versions.push_back(id);
    Reply(res, 200, json{{"id", id}});
  });

  server_->Get(R"(/schemas/ids/(-?\d+))", [this](const httplib::Request& req, httplib::Response& res) {
    const long id = std::stol(req.matches[1]);
    std::lock_guard lock(mu_);
    if (id < 1 || static_cast<std::size_t>(id) > schemas_.size()) {
      return ReplyError(res, 404, 40403, fmt::format("Schema {} not found", id));
    }
    res.status = 200;
    res.set_content(schemas_[id - 1].body, kContentType);
  });

  server_->Get(R"(/subjects/([^/]+)/versions/latest)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string subject = req.matches[1];
    std::lock_guard lock(mu_);
    auto it = subjects_.find(subject);
    if (it == subjects_.end()) return ReplyError(res, 404, 40401, "Subject '" + subject + "' not found.");
    const int id = it->second.back();
    json body = json::parse(schemas_[id - 1].body);
    body["subject"] = subject;
    body["id"] = id;
    body["version"] = static_cast<int>(it->second.size());
    Reply(res, 200, body);
  });

  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) ReplyError(res, 404, 404, "HTTP 404 Not Found: " + req.path);
  });
}

}  // namespace kvlog::schemaregistry::testing
