// schemaregistry::Client against FakeSchemaRegistry, an in-test HTTP server on
// 127.0.0.1 speaking the registry's documented subset; and the Protobuf serde
// with Confluent framing using ids from it.
#include "schemaregistry/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/typed/protobuf/protobuf_serde.h"
#include "kv/typed/protobuf/testdata/people.pb.h"
#include "kv/typed/resource_client.h"
#include "log/sim/broker.h"
#include "schemaregistry/testing/fake_registry.h"

namespace kvlog::schemaregistry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using kv::typed::testdata::Account;
using kv::typed::testdata::User;

Schema ProtobufSchema(std::string text) {
  return Schema{.schema = std::move(text), .schema_type = std::string(kProtobuf), .references = {}};
}

ClientOptions Options(std::string url) {
  ClientOptions options;
  options.url = std::move(url);
  return options;
}

class SchemaRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok()) << "could not bind 127.0.0.1";
    ClientOptions options;
    options.url = server_.url();
    auto client = Client::Open(options);
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    client_ = std::move(*client);
  }

  testing::FakeSchemaRegistry server_;
  std::unique_ptr<Client> client_;
};

TEST(SchemaRegistryUrlTest, RejectsUrlsThatAreNotHttp) {
  for (const char* url : {"", "localhost:8081", "ftp://host", "http://"}) {
    auto client = Client::Open(Options(url));
    ASSERT_FALSE(client.has_value()) << url;
    EXPECT_EQ(client.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(SchemaRegistryUrlTest, EncodesSubjectsForThePath) {
  EXPECT_EQ(EncodePathSegment("users-value"), "users-value");
  EXPECT_EQ(EncodePathSegment("a b/c%"), "a%20b%2Fc%25");
}

TEST_F(SchemaRegistryTest, RegisterThenLookUpById) {
  const std::string text = kv::typed::ProtoSchemaText(*User::descriptor()->file());
  auto id = client_->Register("users-value", ProtobufSchema(text));
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  EXPECT_EQ(*id, 1);

  // A fresh client has no cache: this goes to the server.
  auto fresh = Client::Open(Options(server_.url()));
  ASSERT_TRUE(fresh.has_value());
  auto schema = (*fresh)->GetSchemaById(*id);
  ASSERT_TRUE(schema.has_value()) << schema.error().ToString();
  EXPECT_EQ(schema->schema, text);
  EXPECT_EQ(schema->schema_type, "PROTOBUF");
  EXPECT_THAT(server_.requests(), ElementsAre("POST /subjects/users-value/versions", "GET /schemas/ids/1"));
}

TEST_F(SchemaRegistryTest, SameSchemaKeepsItsIdAcrossSubjectsAndNewSchemasGetNewVersions) {
  auto first = client_->Register("users-value", ProtobufSchema("syntax = \"proto3\"; message A {}"));
  auto again = client_->Register("accounts-value", ProtobufSchema("syntax = \"proto3\"; message A {}"));
  auto second = client_->Register("users-value", ProtobufSchema("syntax = \"proto3\"; message B {}"));
  ASSERT_TRUE(first && again && second);
  EXPECT_EQ(*first, *again);
  EXPECT_NE(*first, *second);

  auto latest = client_->GetLatest("users-value");
  ASSERT_TRUE(latest.has_value()) << latest.error().ToString();
  EXPECT_EQ(latest->subject, "users-value");
  EXPECT_EQ(latest->id, *second);
  EXPECT_EQ(latest->version, 2);
  EXPECT_THAT(latest->schema.schema, HasSubstr("message B"));
}

TEST_F(SchemaRegistryTest, AnswersAreCachedWhereTheRegistryMakesThemImmutable) {
  auto id = client_->Register("s", ProtobufSchema("syntax = \"proto3\";"));
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(client_->Register("s", ProtobufSchema("syntax = \"proto3\";")).has_value());
  ASSERT_TRUE(client_->GetSchemaById(*id).has_value());
  EXPECT_EQ(client_->requests_sent(), 1u);
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(SchemaRegistryTest, RegistryErrorsMapToErrorCodesWithTheRegistryMessage) {
  auto unknown_id = client_->GetSchemaById(42);
  ASSERT_FALSE(unknown_id.has_value());
  EXPECT_EQ(unknown_id.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(unknown_id.error().message(),
              HasSubstr("look up schema id 42: GET /schemas/ids/42 returned HTTP 404: Schema 42 not found "
                        "(error_code 40403)"));

  auto unknown_subject = client_->GetLatest("nobody value");
  ASSERT_FALSE(unknown_subject.has_value());
  EXPECT_EQ(unknown_subject.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(unknown_subject.error().message(), HasSubstr("/subjects/nobody%20value/versions/latest"));
  EXPECT_THAT(unknown_subject.error().message(), HasSubstr("error_code 40401"));

  auto invalid = client_->Register("s", Schema{.schema = "", .schema_type = "PROTOBUF", .references = {}});
  ASSERT_FALSE(invalid.has_value());
  EXPECT_EQ(invalid.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(invalid.error().message(), HasSubstr("error_code 42201"));

  server_.set_failing(true);
  auto failing = client_->Register("s", ProtobufSchema("x"));
  ASSERT_FALSE(failing.has_value());
  EXPECT_EQ(failing.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(failing.error().message(), HasSubstr("HTTP 500"));
}

TEST_F(SchemaRegistryTest, UnreachableRegistryIsUnavailable) {
  std::string url;
  {
    testing::FakeSchemaRegistry gone;
    ASSERT_TRUE(gone.ok());
    url = gone.url();
  }  // Stopped: nothing listens on its port now (unless another process takes it at once).
  ClientOptions options;
  options.url = url;
  options.connect_timeout = std::chrono::seconds(2);
  auto client = Client::Open(options);
  ASSERT_TRUE(client.has_value());
  auto schema = (*client)->GetSchemaById(1);
  ASSERT_FALSE(schema.has_value());
  EXPECT_EQ(schema.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(schema.error().message(), HasSubstr("failed"));
}

TEST_F(SchemaRegistryTest, ProtobufSerdeWithRegisteredIdsRejectsIdsTheRegistryDoesNotKnow) {
  const std::string text = kv::typed::ProtoSchemaText(*User::descriptor()->file());
  auto id = client_->Register("people-value", ProtobufSchema(text));
  ASSERT_TRUE(id.has_value()) << id.error().ToString();

  kv::typed::ConfluentOptions framing;
  framing.schema_id = *id;
  framing.check_schema_id = client_->SchemaIdChecker();
  kv::typed::ProtobufSerde<User> users_serde({.confluent = framing});
  kv::typed::ProtobufSerde<Account> accounts_serde({.confluent = framing});

  log::sim::Broker broker;
  auto kv_client = kv::Client::Open(broker.Connect(), kv::NewMemoryStorage(), {});
  ASSERT_TRUE(kv_client.has_value()) << kv_client.error().ToString();
  kv::typed::ResourceClient users(**kv_client, users_serde);
  kv::typed::ResourceClient accounts(**kv_client, accounts_serde);

  User ada;
  ada.set_name("Ada");
  ASSERT_TRUE(users.Put("users/ada", ada).has_value());
  Account account;
  account.set_owner("users/ada");
  ASSERT_TRUE(accounts.Put("accounts/1", account).has_value());
  EXPECT_EQ(users.Get("users/ada").value().name(), "Ada");
  EXPECT_EQ(accounts.Get("accounts/1").value().owner(), "users/ada");

  // The stored bytes carry the registry's id and the message's indexes.
  const std::string stored = (*kv_client)->Get("accounts/1").value();
  ASSERT_GE(stored.size(), 7u);
  EXPECT_EQ(stored.substr(0, 7), std::string("\x00\x00\x00\x00\x01\x02\x02", 7));

  // A value stamped with an id the registry never gave out.
  kv::typed::ConfluentOptions stranger;
  stranger.schema_id = 77;
  auto foreign = kv::typed::ProtobufSerde<User>({.confluent = stranger}).Serialize(ada);
  ASSERT_TRUE(foreign.has_value());
  ASSERT_TRUE((*kv_client)->Put("users/foreign", *foreign).has_value());
  auto got = users.Get("users/foreign");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(got.error().message(), HasSubstr("value at key \"users/foreign\" does not decode: confluent: unknown "
                                               "schema id 77: look up schema id 77"));

  // A registry that fails is not mistaken for an unknown id.
  server_.set_failing(true);
  auto fresh = Client::Open(Options(server_.url()));
  ASSERT_TRUE(fresh.has_value());
  framing.check_schema_id = (*fresh)->SchemaIdChecker();
  auto unavailable = kv::typed::ProtobufSerde<User>({.confluent = framing}).Deserialize(*users_serde.Serialize(ada));
  ASSERT_FALSE(unavailable.has_value());
  EXPECT_EQ(unavailable.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(unavailable.error().message(), HasSubstr("cannot check schema id 1"));
}

}  // namespace
}  // namespace kvlog::schemaregistry
