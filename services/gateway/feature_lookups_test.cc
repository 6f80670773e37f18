// FeatureLookups against the feature service's real online path over
// loopback gRPC (bench/feature_server.h: FeatureServiceImpl with its
// StreamOnlineFeatures, no Postgres), against a service without the stream
// (testing::FakeFeatures: unary fallback), and against streams that stall or
// break (deadlines, the unary retry, a new stream after a broken one).
#include "services/gateway/feature_lookups.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "services/gateway/bench/feature_server.h"
#include "services/gateway/testing/fake_peers.h"

namespace mlops::gateway {
namespace {

namespace fv1 = ::mlops::features::v1;
using std::chrono::milliseconds;

constexpr int kCols = 30;

fv1::GetOnlineFeaturesRequest RequestFor(int64_t entity) {
  fv1::GetOnlineFeaturesRequest req;
  req.add_entity_rows()->add_values()->set_int64_value(entity);
  for (int c = 0; c < kCols; ++c) req.add_feature_refs(absl::StrCat("view:f", c));
  return req;
}

// One lookup, waited for (bounded).
struct Outcome {
  grpc::Status status;
  fv1::GetOnlineFeaturesResponse response;
  milliseconds took{0};
};

Outcome LookupAndWait(FeatureLookups& lookups, const fv1::GetOnlineFeaturesRequest& req,
                      milliseconds budget = milliseconds(5000)) {
  Outcome out;
  absl::Notification done;
  const auto t0 = std::chrono::steady_clock::now();
  lookups.Lookup(&req, &out.response, std::chrono::system_clock::now() + budget,
                 [&](const grpc::Status& s) {
                   out.status = s;
                   out.took = std::chrono::duration_cast<milliseconds>(
                       std::chrono::steady_clock::now() - t0);
                   done.Notify();
                 });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  return out;
}

// The same lookup as a unary GetOnlineFeatures call.
fv1::GetOnlineFeaturesResponse Unary(const PeerChannel* peer,
                                     const fv1::GetOnlineFeaturesRequest& req) {
  auto stub = fv1::FeatureService::NewStub(peer->channel());
  std::unique_ptr<grpc::ClientContext> ctx = peer->NewContext();
  fv1::GetOnlineFeaturesResponse resp;
  EXPECT_TRUE(stub->GetOnlineFeatures(ctx.get(), req, &resp).ok());
  return resp;
}

TEST(FeatureLookupsTest, StreamsLookupsAndAnswersAsTheUnaryCall) {
  auto server = bench::FeatureServer::Start(kCols, 1000);
  ASSERT_TRUE(server.ok()) << server.status();
  FeatureLookups lookups((*server)->peer());
  for (int64_t e = 0; e < 100; ++e) {
    const fv1::GetOnlineFeaturesRequest req = RequestFor(e * 7);
    Outcome out = LookupAndWait(lookups, req);
    ASSERT_TRUE(out.status.ok()) << out.status.error_message();
    ASSERT_EQ(out.response.rows_size(), 1);
    EXPECT_EQ(out.response.SerializeAsString(),
              Unary((*server)->peer(), req).SerializeAsString())
        << "entity " << e * 7;
  }
  EXPECT_EQ(lookups.streamed(), 100);
  EXPECT_EQ(lookups.unary(), 0);
}

TEST(FeatureLookupsTest, ConcurrentLookupsEachGetTheirOwnAnswer) {
  auto server = bench::FeatureServer::Start(kCols, 1000);
  ASSERT_TRUE(server.ok()) << server.status();
  FeatureLookups lookups((*server)->peer());
  constexpr int kLookups = 200;
  std::vector<fv1::GetOnlineFeaturesRequest> reqs;
  for (int i = 0; i < kLookups; ++i) reqs.push_back(RequestFor(i));
  std::vector<fv1::GetOnlineFeaturesResponse> resps(kLookups);
  std::vector<grpc::Status> statuses(kLookups);
  std::atomic<int> left{kLookups};
  absl::Notification all;
  for (int i = 0; i < kLookups; ++i) {  // all in flight at once, on one stream
    lookups.Lookup(&reqs[i], &resps[i], std::chrono::system_clock::now() + milliseconds(10000),
                   [&, i](const grpc::Status& s) {
                     statuses[i] = s;
                     if (--left == 0) all.Notify();
                   });
  }
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(30)));
  for (int i = 0; i < kLookups; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(resps[i].SerializeAsString(), Unary((*server)->peer(), reqs[i]).SerializeAsString())
        << "lookup " << i;
  }
  EXPECT_EQ(lookups.streamed(), kLookups);
}

TEST(FeatureLookupsTest, ABadLookupFailsAloneWithTheServicesCode) {
  auto server = bench::FeatureServer::Start(kCols, 1000);
  ASSERT_TRUE(server.ok()) << server.status();
  FeatureLookups lookups((*server)->peer());
  fv1::GetOnlineFeaturesRequest bad = RequestFor(1);
  bad.mutable_entity_rows(0)->mutable_values(0)->set_string_value("not an int");
  Outcome failed = LookupAndWait(lookups, bad);
  EXPECT_EQ(failed.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(failed.status.error_message().find("entity_rows[0]"), std::string::npos)
      << failed.status.error_message();
  Outcome good = LookupAndWait(lookups, RequestFor(2));  // the same stream goes on
  EXPECT_TRUE(good.status.ok()) << good.status.error_message();
  EXPECT_EQ(lookups.streamed(), 2);
}

TEST(FeatureLookupsTest, FallsBackToUnaryCallsWhenTheServiceLacksTheStream) {
  testing::FakeFeatures fake;
  auto server = testing::LoopbackServer::Start({&fake}, "features");
  ASSERT_TRUE(server.ok()) << server.status();
  FeatureLookups lookups((*server)->peer());
  for (int64_t e = 1; e <= 5; ++e) {
    Outcome out = LookupAndWait(lookups, RequestFor(e));
    ASSERT_TRUE(out.status.ok()) << out.status.error_message();
    ASSERT_EQ(out.response.rows_size(), 1);
    EXPECT_EQ(out.response.rows(0).values(3).double_value(), testing::FakeFeatures::Value(e, 3));
  }
  EXPECT_EQ(lookups.unary(), 5);
  EXPECT_EQ(lookups.streamed(), 0);
  EXPECT_EQ(fake.calls(), 5);
}

// A feature service whose streams read lookups and never answer them, or
// end with UNAVAILABLE after the first one (`end_after_read`), and whose
// unary GetOnlineFeatures fails UNAVAILABLE, or answers one row when
// `unary_answers`.
class BrokenStreams final : public fv1::FeatureService::CallbackService {
 public:
  explicit BrokenStreams(bool end_after_read, bool unary_answers = false)
      : end_after_read_(end_after_read), unary_answers_(unary_answers) {}
  int opened() const { return opened_.load(); }
  int unary_calls() const { return unary_calls_.load(); }

  grpc::ServerUnaryReactor* GetOnlineFeatures(grpc::CallbackServerContext* ctx,
                                              const fv1::GetOnlineFeaturesRequest* req,
                                              fv1::GetOnlineFeaturesResponse* resp) override {
    ++unary_calls_;
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (!unary_answers_) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "still going away"));
      return reactor;
    }
    for (int i = 0; i < req->entity_rows_size(); ++i) resp->add_rows();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<fv1::OnlineFeaturesLookup, fv1::OnlineFeaturesResult>*
  StreamOnlineFeatures(grpc::CallbackServerContext*) override {
    ++opened_;
    class Reactor final
        : public grpc::ServerBidiReactor<fv1::OnlineFeaturesLookup, fv1::OnlineFeaturesResult> {
     public:
      explicit Reactor(bool end_after_read) : end_after_read_(end_after_read) {
        StartRead(&lookup_);
      }
      void OnReadDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status::OK);
        } else if (end_after_read_) {
          Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "going away"));
        } else {
          StartRead(&lookup_);  // never answers
        }
      }
      void OnDone() override { delete this; }

     private:
      const bool end_after_read_;
      fv1::OnlineFeaturesLookup lookup_;
    };
    return new Reactor(end_after_read_);
  }

 private:
  const bool end_after_read_;
  const bool unary_answers_;
  std::atomic<int> opened_{0};
  std::atomic<int> unary_calls_{0};
};

TEST(FeatureLookupsTest, ALookupNeverAnsweredEndsAtItsDeadline) {
  BrokenStreams stalls(/*end_after_read=*/false);
  auto server = testing::LoopbackServer::Start({&stalls}, "features");
  ASSERT_TRUE(server.ok()) << server.status();
  FeatureLookups lookups((*server)->peer());
  Outcome out = LookupAndWait(lookups, RequestFor(1), milliseconds(150));
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_GE(out.took.count(), 140);
  EXPECT_LT(out.took.count(), 1000) << "the deadline thread should end it on time";
  // Another, with a shorter deadline than the thread's next check.
  out = LookupAndWait(lookups, RequestFor(2), milliseconds(20));
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(out.took.count(), 500);
  EXPECT_EQ(stalls.opened(), 2);  // the lookups took streams in turn
}

TEST(FeatureLookupsTest, ABrokenStreamsLookupsAreAskedAgainAsUnaryCalls) {
  BrokenStreams breaks(/*end_after_read=*/true, /*unary_answers=*/true);
  auto server = testing::LoopbackServer::Start({&breaks}, "features");
  ASSERT_TRUE(server.ok()) << server.status();
  FeatureLookups lookups((*server)->peer());
  for (int i = 1; i <= 3; ++i) {
    Outcome out = LookupAndWait(lookups, RequestFor(i), milliseconds(10000));
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
    EXPECT_EQ(out.response.rows_size(), 1);
  }
  EXPECT_EQ(breaks.opened(), 3) << "each lookup after a broken stream opens a new one";
  EXPECT_EQ(breaks.unary_calls(), 3);
  EXPECT_EQ(lookups.unary(), 3);
  EXPECT_EQ(lookups.streamed(), 0);
}

TEST(FeatureLookupsTest, ABrokenStreamWhoseRetryFailsIsUnavailableAtOnce) {
  BrokenStreams breaks(/*end_after_read=*/true, /*unary_answers=*/false);
  auto server = testing::LoopbackServer::Start({&breaks}, "features");
  ASSERT_TRUE(server.ok()) << server.status();
  FeatureLookups lookups((*server)->peer());
  Outcome out = LookupAndWait(lookups, RequestFor(1), milliseconds(10000));
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(out.status.error_message(), "still going away");
  EXPECT_LT(out.took.count(), 5000) << "not at the deadline: when the retry failed";
  EXPECT_EQ(breaks.unary_calls(), 1);
}

TEST(FeatureLookupsTest, NoServiceListeningIsUnavailableBeforeTheDeadline) {
  int port = 0;
  {
    testing::FakeFeatures fake;
    auto server = testing::LoopbackServer::Start({&fake}, "features");
    ASSERT_TRUE(server.ok()) << server.status();
    port = (*server)->port();
  }  // stopped: nothing listens on the port now
  PeerChannelOptions po;
  po.address = absl::StrCat("127.0.0.1:", port);
  auto peer = PeerChannel::Create("features", po);
  ASSERT_TRUE(peer.ok()) << peer.status();
  FeatureLookups lookups(peer->get());
  Outcome out = LookupAndWait(lookups, RequestFor(1), milliseconds(3000));
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::UNAVAILABLE) << out.status.error_message();
  EXPECT_LT(out.took.count(), 2500);
}

TEST(FeatureLookupsTest, DestroyingEndsTheLookupsInFlight) {
  BrokenStreams stalls(/*end_after_read=*/false);
  auto server = testing::LoopbackServer::Start({&stalls}, "features");
  ASSERT_TRUE(server.ok()) << server.status();
  auto lookups = std::make_unique<FeatureLookups>((*server)->peer());
  const fv1::GetOnlineFeaturesRequest req = RequestFor(1);
  fv1::GetOnlineFeaturesResponse resp;
  grpc::Status status;
  absl::Notification done;
  lookups->Lookup(&req, &resp, std::chrono::system_clock::now() + milliseconds(60000),
                  [&](const grpc::Status& s) {
                    status = s;
                    done.Notify();
                  });
  // Let the lookup reach the service, then destroy: it ends, not at 60 s.
  for (int i = 0; i < 200 && stalls.opened() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const auto t0 = std::chrono::steady_clock::now();
  lookups.reset();
  EXPECT_TRUE(done.HasBeenNotified());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
}  // namespace mlops::gateway
