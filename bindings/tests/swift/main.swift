// Swift tests of the generated TokenKeeper bindings, against the local issuer over real HTTP.
//
// Run by bindings/test-swift.sh: it builds the library, generates the Swift sources from it,
// compiles this file with them inside a Debian trixie chroot, and runs the executable there
// against the issuer started outside (the chroot shares the host's loopback). The fixture arrives
// in TK_* environment variables. Each test prints PASS/FAIL; the last line is
// "swift: N passed, N failed".

import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import TokenKeeper

// MARK: - Fixture and the issuer's admin API

func env(_ name: String) -> String {
    guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
        print("\(name) is not set (run bindings/test-swift.sh)")
        exit(2)
    }
    return v
}

enum Fx {
    static let url = env("TK_URL")
    static let clientId = env("TK_CLIENT_ID")
    static let clientSecret = env("TK_CLIENT_SECRET")
    static let jwtClientId = env("TK_JWT_CLIENT_ID")
    static let rsaKey = env("TK_JWT_RSA_PRIVATE_KEY")
    static let ecKey = env("TK_JWT_EC_PRIVATE_KEY")
    static let ungrantedId = env("TK_UNGRANTED_CLIENT_ID")
    static let ungrantedSecret = env("TK_UNGRANTED_CLIENT_SECRET")
    /// `{url}/`: the `iss` of every token.
    static let issuer = env("TK_ISSUER")
    /// Sign-in apps: public (PKCE, rotating refresh tokens) and confidential (a secret).
    static let publicClientId = env("TK_PUBLIC_CLIENT_ID")
    static let webClientId = env("TK_WEB_CLIENT_ID")
    static let webClientSecret = env("TK_WEB_CLIENT_SECRET")
    /// `{url}/callback`, an allowed callback of both sign-in apps.
    static let redirectUri = env("TK_REDIRECT_URI")
    /// The user the test-mode /authorize signs in, a member of the organization.
    static let userSub = env("TK_USER_SUB")
    static let userEmail = env("TK_USER_EMAIL")
    static let orgId = env("TK_ORG_ID")
    static let orgName = env("TK_ORG_NAME")
    static let api = "https://api.example.com"
}

struct AdminError: Error, CustomStringConvertible {
    let description: String
}

/// Synchronous HTTP to the issuer's admin endpoints (bounded by a timeout).
final class Admin: @unchecked Sendable {
    static let shared = Admin()
    private let session: URLSession
    private var apis = 0

    private init() {
        let cfg = URLSessionConfiguration.ephemeral
        cfg.timeoutIntervalForRequest = 10
        session = URLSession(configuration: cfg)
    }

    func send(_ method: String, _ path: String, _ body: String? = nil) throws -> Data {
        var req = URLRequest(url: URL(string: Fx.url + path)!)
        req.httpMethod = method
        if let body = body {
            req.setValue("application/json", forHTTPHeaderField: "content-type")
            req.httpBody = body.data(using: .utf8)
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, URLResponse?, Error?) = (nil, nil, nil)
        session.dataTask(with: req) { d, r, e in
            result = (d, r, e)
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 15) == .success else { throw AdminError(description: "admin \(path): no answer") }
        if let e = result.2 { throw AdminError(description: "admin \(path): \(e)") }
        guard let http = result.1 as? HTTPURLResponse, http.statusCode == 200 else {
            throw AdminError(description: "admin \(path): bad status")
        }
        return result.0 ?? Data()
    }

    /// Requests received by /oauth/token so far, faulted ones included.
    func tokenRequests() throws -> Int { try count("token") }

    /// A counter of /__admin/stats (`token`, `grant:refresh_token`, `refresh_reuse`, `userinfo`…).
    func count(_ name: String) throws -> Int {
        let obj = try JSONSerialization.jsonObject(with: send("GET", "/__admin/stats"))
        return ((obj as? [String: Any])?[name] as? NSNumber)?.intValue ?? 0
    }

    func fault(_ fault: [String: Any]) throws {
        var f = fault
        if f["endpoint"] == nil { f["endpoint"] = "token" }
        let json = try JSONSerialization.data(withJSONObject: f)
        _ = try send("POST", "/__admin/faults", String(data: json, encoding: .utf8)!)
    }

    /// Registers a fresh API, so its cache key is cold in this process.
    func newApi(scopes: [String] = ["read:things", "write:things"], lifetime: Int = 86400) throws -> String {
        apis += 1
        let aud = "https://swift-\(apis)-\(DispatchTime.now().uptimeNanoseconds).example.com"
        let json = try JSONSerialization.data(withJSONObject: ["audience": aud, "scopes": scopes, "lifetime": lifetime] as [String: Any])
        _ = try send("POST", "/__admin/apis", String(data: json, encoding: .utf8)!)
        return aud
    }
}

let admin = Admin.shared

// MARK: - A tiny harness

nonisolated(unsafe) var passed = 0
nonisolated(unsafe) var failed = 0

struct Failure: Error, CustomStringConvertible {
    let description: String
}

func expect(_ cond: Bool, _ msg: @autoclosure () -> String, line: Int = #line) throws {
    if !cond { throw Failure(description: "line \(line): \(msg())") }
}

func expectEq<T: Equatable>(_ expected: T, _ actual: T, _ what: String, line: Int = #line) throws {
    try expect(expected == actual, "\(what): expected <\(expected)>, got <\(actual)>", line: line)
}

func report(_ name: String, _ start: DispatchTime, _ error: Error?) {
    let ms = (DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000
    if let error = error {
        failed += 1
        print("FAIL \(name): \(error)")
    } else {
        passed += 1
        print("PASS \(name) (\(ms) ms)")
    }
}

func test(_ name: String, _ body: () throws -> Void) {
    let start = DispatchTime.now()
    do { try body(); report(name, start, nil) } catch { report(name, start, error) }
}

func testAsync(_ name: String, _ body: () async throws -> Void) async {
    let start = DispatchTime.now()
    do { try await body(); report(name, start, nil) } catch { report(name, start, error) }
}

/// The TokenError a call throws (anything else, or nothing, fails the test).
@discardableResult
func expectError<T>(_ what: String = "call", line: Int = #line, _ body: () throws -> T) throws -> TokenError {
    do {
        _ = try body()
    } catch let e as TokenError {
        return e
    }
    throw Failure(description: "line \(line): \(what) did not fail")
}

func expectErrorAsync<T>(_ what: String = "call", line: Int = #line, _ body: () async throws -> T) async throws -> TokenError {
    do {
        _ = try await body()
    } catch let e as TokenError {
        return e
    }
    throw Failure(description: "line \(line): \(what) did not fail")
}

// MARK: - Helpers

func config(
    domain: String = Fx.url, clientId: String = Fx.clientId, secret: String = Fx.clientSecret,
    authMethod: AuthMethod? = nil, defaultAudience: String? = nil, http: HttpOptions = HttpOptions(),
    cacheEnabled: Bool? = nil, cacheRefreshAhead: Double? = nil
) -> ClientConfig {
    ClientConfig(
        domain: domain, clientId: clientId, credentials: Credentials.clientSecret(secret: secret),
        authMethod: authMethod, defaultAudience: defaultAudience, http: http,
        cacheEnabled: cacheEnabled, cacheRefreshAhead: cacheRefreshAhead)
}

func client(_ cfg: ClientConfig = config()) throws -> TokenClient {
    try TokenClient(config: cfg)
}

/// A client that caches nothing and never retries: every call is exactly one request.
func uncachedClient(requestTimeout: TimeInterval? = nil) throws -> TokenClient {
    try client(config(http: HttpOptions(requestTimeout: requestTimeout, maxAttempts: 1), cacheEnabled: false))
}

/// The error an injected fault produces through a real request.
func faulted(_ fault: [String: Any], requestTimeout: TimeInterval? = nil) throws -> TokenError {
    let c = try uncachedClient(requestTimeout: requestTimeout)
    try admin.fault(fault)
    return try expectError { try c.getTokenBlocking(request: TokenRequest(audience: Fx.api)) }
}

func jwtParts(_ t: String) -> Int { t.split(separator: ".", omittingEmptySubsequences: false).count }

// MARK: - Tests

let baseline = liveObjects()
/// A line from the middle of a PEM (its base64 body).
func pemLine(_ pem: String) -> String { pem.components(separatedBy: "\n")[1] }
let secrets = [Fx.clientSecret, Fx.ungrantedSecret, pemLine(Fx.rsaKey), pemLine(Fx.ecKey)]
let shared = try! client()

test("tokenkeeperVersion() is the workspace version") {
    try expectEq(env("TK_EXPECTED_VERSION"), tokenkeeperVersion(), "version")
}

test("token for an audience (blocking)") {
    let t = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api, scope: "read:things"))
    try expectEq(3, jwtParts(t.accessToken()), "JWT segments")
    try expect(t.tokenType().lowercased() == "bearer", "token type \(t.tokenType())")
    try expectEq(86400, t.expiresIn(), "expires_in")
    try expectEq("read:things", t.scope(), "scope")
    let left = t.expiresAt().timeIntervalSinceNow
    try expect(left > 86000 && left <= 86400, "expires_at is \(left) s away")
    try expect(t.remaining() > 86000 && t.remaining() <= 86400, "remaining \(t.remaining())")
    try expectEq("Bearer \(t.accessToken())", t.authorizationHeader(), "authorization header")
}

test("second call is served from the cache (issuer count proves it)") {
    let aud = try admin.newApi()
    let before = try admin.tokenRequests()
    let c = try client()
    let s0 = c.stats()
    let t1 = try c.getTokenBlocking(request: TokenRequest(audience: aud))
    let t2 = try c.getTokenBlocking(request: TokenRequest(audience: aud))
    try expectEq(1, try admin.tokenRequests() - before, "token requests")
    try expectEq(t1.accessToken(), t2.accessToken(), "same token")
    try expect(t1.isSame(other: t2), "a cache hit returns the same fetched token")
    let s = c.stats()
    try expectEq(1, s.tokensMinted - s0.tokensMinted, "tokens minted")
    try expect(s.cacheHits - s0.cacheHits >= 1, "cache hits \(s)")
    try expect(c.cached(request: TokenRequest(audience: aud))?.isSame(other: t1) == true, "cached() gives the token")
}

test("another client with the same credentials shares the cache") {
    let aud = try admin.newApi()
    let before = try admin.tokenRequests()
    let a = try client().getTokenBlocking(request: TokenRequest(audience: aud)).accessToken()
    let b = try client().getTokenBlocking(request: TokenRequest(audience: aud)).accessToken()
    try expectEq(a, b, "token")
    try expectEq(1, try admin.tokenRequests() - before, "token requests")
}

test("different audiences, scopes and organizations get different tokens") {
    let aud1 = try admin.newApi(), aud2 = try admin.newApi()
    let before = try admin.tokenRequests()
    let reqs = [
        TokenRequest(audience: aud1),
        TokenRequest(audience: aud2),
        TokenRequest(audience: aud1, scope: "read:things"),
        TokenRequest(audience: aud1, scope: "read:things write:things"),
        TokenRequest(audience: Fx.api, scope: "write:things", organization: "acme"),
    ]
    let tokens = try reqs.map { try shared.getTokenBlocking(request: $0).accessToken() }
    try expectEq(tokens.count, Set(tokens).count, "distinct tokens")
    // Scope order and repeats do not matter: one key, no new request.
    let same = try shared.getTokenBlocking(request: TokenRequest(audience: aud1, scope: "write:things  read:things read:things")).accessToken()
    try expectEq(tokens[3], same, "token for the reordered scope")
    try expectEq(5, try admin.tokenRequests() - before, "token requests")
}

test("client_secret_basic and private_key_jwt (RS256, PS256, ES256)") {
    let basic = try client(config(authMethod: .clientSecretBasic))
    try expectEq(AuthMethod.clientSecretBasic, basic.authMethod(), "auth method")
    _ = try basic.getTokenBlocking(request: TokenRequest(audience: try admin.newApi()))
    for (alg, pem) in [(SigningAlg.rs256, Fx.rsaKey), (.ps256, Fx.rsaKey), (.es256, Fx.ecKey)] {
        let cfg = ClientConfig(domain: Fx.url, clientId: Fx.jwtClientId, credentials: Credentials.privateKey(pem: pem, alg: alg))
        let c = try client(cfg)
        try expectEq(AuthMethod.privateKeyJwt, c.authMethod(), "auth method")
        let t = try c.getTokenBlocking(request: TokenRequest(audience: try admin.newApi()))
        try expectEq(3, jwtParts(t.accessToken()), "\(alg) token")
    }
}

test("invalidate() forgets the token; default request") {
    let aud = try admin.newApi()
    let c = try client(config(defaultAudience: aud))
    let req = try c.defaultRequest()
    try expectEq(aud, req.audience, "default audience")
    let before = try admin.tokenRequests()
    let a = try c.getTokenBlocking(request: req).accessToken()
    c.invalidate(request: req)
    try expect(c.cached(request: req) == nil, "nothing cached after invalidate")
    let b = try c.getTokenBlocking(request: req).accessToken()
    try expect(a != b, "a new token after invalidate")
    try expectEq(2, try admin.tokenRequests() - before, "token requests")
    let e = try expectError { try client().defaultRequest() }
    guard case .Config = e else { throw Failure(description: "expected Config, got \(e)") }
}

// MARK: each error cause, from a real response or an injected fault

test("OAuth: wrong secret (401), unknown audience (403), ungranted client (403)") {
    let e1 = try expectError { try client(config(secret: "wrong-secret-value")).getTokenBlocking(request: TokenRequest(audience: Fx.api)) }
    guard case let .OAuth(error, _, status) = e1 else { throw Failure(description: "expected OAuth, got \(e1)") }
    try expectEq(401, status, "status")
    try expectEq("access_denied", error, "error")
    try expect(!"\(e1)".contains("wrong-secret-value"), "secret in the error")
    let e2 = try expectError { try shared.getTokenBlocking(request: TokenRequest(audience: "https://nope.example.com")) }
    guard case let .OAuth(_, description2, status2) = e2 else { throw Failure(description: "expected OAuth, got \(e2)") }
    try expectEq(403, status2, "status")
    try expect(description2?.contains("Service not found") == true, "description \(String(describing: description2))")
    let e3 = try expectError { try client(config(clientId: Fx.ungrantedId, secret: Fx.ungrantedSecret)).getTokenBlocking(request: TokenRequest(audience: Fx.api)) }
    guard case let .OAuth(_, description3, status3) = e3 else { throw Failure(description: "expected OAuth, got \(e3)") }
    try expectEq(403, status3, "status")
    try expect(description3?.contains("not authorized") == true, "description \(String(describing: description3))")
}

test("RateLimited: 429 with Retry-After 120") {
    let e = try faulted([
        "status": 429,
        "body": #"{"error":"too_many_requests","error_description":"Global limit has been reached"}"#,
        "headers": [["retry-after", "120"]],
    ])
    guard case let .RateLimited(retryAfter, description) = e else { throw Failure(description: "expected RateLimited, got \(e)") }
    try expectEq(120.0, retryAfter, "retry after")
    try expectEq("Global limit has been reached", description, "description")
}

test("Network: closed port, and a dropped connection") {
    let e1 = try expectError { try client(config(domain: "http://127.0.0.1:1", http: HttpOptions(maxAttempts: 1))).getTokenBlocking(request: TokenRequest(audience: Fx.api)) }
    guard case .Network = e1 else { throw Failure(description: "expected Network, got \(e1)") }
    let e2 = try faulted(["drop_connection": true])
    guard case .Network = e2 else { throw Failure(description: "expected Network, got \(e2)") }
}

test("Timeout: a reply slower than the request timeout") {
    let start = Date()
    let e = try faulted(["delay_ms": 3000], requestTimeout: 0.3)
    guard case .Timeout = e else { throw Failure(description: "expected Timeout, got \(e)") }
    try expect(Date().timeIntervalSince(start) < 2.5, "took \(Date().timeIntervalSince(start)) s")
}

test("InvalidResponse: not JSON, missing access_token, oversized, token_type mac") {
    let faults: [[String: Any]] = [
        ["status": 200, "body": "{not json"],
        ["status": 200, "body": #"{"token_type":"Bearer"}"#],
        ["body_bytes": 100000],
        ["status": 200, "body": #"{"access_token":"abc","token_type":"mac"}"#],
    ]
    for f in faults {
        let e = try faulted(f)
        guard case .InvalidResponse = e else { throw Failure(description: "\(f): expected InvalidResponse, got \(e)") }
    }
}

test("Config: plain http off loopback, empty client id, bad PEM, bad policy, empty audience") {
    let bad: [ClientConfig] = [
        config(domain: "http://example.com"),
        config(clientId: ""),
        ClientConfig(domain: Fx.url, clientId: Fx.jwtClientId, credentials: Credentials.privateKey(pem: "not a pem", alg: .es256)),
        config(cacheRefreshAhead: 2.0),
        config(http: HttpOptions(maxAttempts: 0)),
    ]
    for cfg in bad {
        let e = try expectError { try client(cfg) }
        guard case .Config = e else { throw Failure(description: "expected Config, got \(e)") }
    }
    let e = try expectError { try shared.getTokenBlocking(request: TokenRequest(audience: "")) }
    guard case .Config = e else { throw Failure(description: "expected Config, got \(e)") }
}

test("every cause is its own case (InvalidToken carries the check)") {
    // Exhaustively matchable. InvalidToken and ReauthenticationRequired are produced by real
    // rejections in SignIn.swift (verification, sign-in, the credentials manager).
    let all: [TokenError] = [
        .OAuth(error: "access_denied", errorDescription: nil, status: 403),
        .RateLimited(retryAfterSeconds: 1, errorDescription: nil),
        .Network(detail: "x"), .Timeout(detail: "x"), .InvalidResponse(status: nil, detail: "x"),
        .Config(detail: "x"), .InvalidToken(check: .audience, detail: "x"),
        .ReauthenticationRequired(error: "invalid_grant", errorDescription: nil),
        .Storage(detail: "load() failed: x"),
    ]
    let names: [String] = all.map {
        switch $0 {
        case .OAuth: return "oauth"
        case .RateLimited: return "rate_limited"
        case .Network: return "network"
        case .Timeout: return "timeout"
        case .InvalidResponse: return "invalid_response"
        case .Config: return "config"
        case let .InvalidToken(check, _): return "invalid_token:\(check)"
        case .ReauthenticationRequired: return "reauthentication_required"
        case .Storage: return "storage"
        }
    }
    try expectEq(9, Set(names).count, "distinct causes")
}

// MARK: concurrency

test("32 threads (blocking) on a cold key cause one request") {
    let aud = try admin.newApi()
    let before = try admin.tokenRequests()
    let lock = NSLock()
    nonisolated(unsafe) var got: [String] = []
    nonisolated(unsafe) var errors: [Error] = []
    DispatchQueue.concurrentPerform(iterations: 32) { _ in
        do {
            let t = try shared.getTokenBlocking(request: TokenRequest(audience: aud)).accessToken()
            lock.lock(); got.append(t); lock.unlock()
        } catch {
            lock.lock(); errors.append(error); lock.unlock()
        }
    }
    try expect(errors.isEmpty, "errors: \(errors)")
    try expectEq(32, got.count, "tokens")
    try expectEq(1, Set(got).count, "distinct tokens")
    try expectEq(1, try admin.tokenRequests() - before, "token requests")
}

// MARK: async

await testAsync("async getToken: a token, then the cache") {
    let aud = try admin.newApi()
    let before = try admin.tokenRequests()
    let t1 = try await shared.getToken(request: TokenRequest(audience: aud, scope: "read:things"))
    let t2 = try await shared.getToken(request: TokenRequest(audience: aud, scope: "read:things"))
    try expectEq("read:things", t1.scope(), "scope")
    try expect(t1.isSame(other: t2), "second call from the cache")
    try expectEq(1, try admin.tokenRequests() - before, "token requests")
}

await testAsync("32 concurrent tasks on a cold key cause one request") {
    let aud = try admin.newApi()
    let before = try admin.tokenRequests()
    let c = shared
    let tokens = try await withThrowingTaskGroup(of: String.self) { group in
        for _ in 0..<32 {
            group.addTask { try await c.getToken(request: TokenRequest(audience: aud)).accessToken() }
        }
        var all: [String] = []
        for try await t in group { all.append(t) }
        return all
    }
    try expectEq(32, tokens.count, "tokens")
    try expectEq(1, Set(tokens).count, "distinct tokens")
    try expectEq(1, try admin.tokenRequests() - before, "token requests")
}

await testAsync("async errors are the same cases") {
    let wrong = try client(config(secret: "wrong"))
    let e1 = try await expectErrorAsync { try await wrong.getToken(request: TokenRequest(audience: Fx.api)) }
    guard case let .OAuth(_, _, status) = e1 else { throw Failure(description: "expected OAuth, got \(e1)") }
    try expectEq(401, status, "status")
    let e2 = try await expectErrorAsync { try await shared.getToken(request: TokenRequest(audience: " ")) }
    guard case .Config = e2 else { throw Failure(description: "expected Config, got \(e2)") }
    let slow = try uncachedClient(requestTimeout: 0.3)
    try admin.fault(["delay_ms": 2000])
    let e3 = try await expectErrorAsync { try await slow.getToken(request: TokenRequest(audience: Fx.api)) }
    guard case .Timeout = e3 else { throw Failure(description: "expected Timeout, got \(e3)") }
}

await testAsync("cancelling a task is safe and leaves the client usable") {
    let aud = try admin.newApi()
    let before = try admin.tokenRequests()
    try admin.fault(["delay_ms": 1500])
    let c = shared
    let task = Task { try await c.getToken(request: TokenRequest(audience: aud)) }
    try await Task.sleep(nanoseconds: 200_000_000)
    task.cancel()
    // uniffi's Swift futures do not observe Task cancellation: the call finishes normally (a
    // token here). Either outcome is acceptable; a crash or a hang is not.
    switch await task.result {
    case .success(let t): try expectEq(3, jwtParts(t.accessToken()), "token of the cancelled task")
    case .failure(let e): try expect(e is CancellationError, "cancelled task threw \(e)")
    }
    let t = try await shared.getToken(request: TokenRequest(audience: aud))
    try expectEq(3, jwtParts(t.accessToken()), "token")
    try expectEq(1, try admin.tokenRequests() - before, "token requests")
}

// MARK: secrets and lifetimes

test("no secret in description, debugDescription or errors") {
    let cfg = config()
    let key = Credentials.privateKey(pem: Fx.ecKey, alg: .es256)
    let t = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api))
    var texts = [
        String(describing: cfg), String(reflecting: cfg), cfg.credentials.description, cfg.credentials.debugDescription,
        key.description, key.debugDescription, String(describing: shared), shared.debugDescription,
        String(describing: t), String(reflecting: t),
    ]
    try expect(!t.description.contains(t.accessToken()), "token text in description: \(t)")
    try expect(!t.description.contains(String(t.accessToken().split(separator: ".")[1])), "token payload in description: \(t)")
    try expect(t.description.contains("redacted"), "description: \(t)")
    let e = try expectError { try client(config(secret: Fx.clientSecret + "x")).getTokenBlocking(request: TokenRequest(audience: Fx.api)) }
    texts += [String(describing: e), e.localizedDescription, e.errorDescription ?? ""]
    for s in texts {
        for secret in secrets {
            try expect(!s.contains(secret), "a secret appears in: \(s)")
        }
    }
    try expect(shared.description.contains(Fx.clientId), "client description: \(shared)")
}

/// Makes `n` tokens and clients in a scope of their own; all are released when it returns.
func makeAndDrop(_ aud: String, _ n: Int) throws -> LiveObjects {
    var held: [Token] = []
    var clients: [TokenClient] = []
    for _ in 0..<n {
        let c = try client()
        clients.append(c)
        held.append(try c.getTokenBlocking(request: TokenRequest(audience: aud)))
    }
    try expectEq(1, Set(held.map { $0.accessToken() }).count, "one cached token")
    return liveObjects()
}

test("objects are released when the last reference goes (deinit)") {
    let start = liveObjects()
    let aud = try admin.newApi()
    let during = try makeAndDrop(aud, 30)
    try expect(during.tokens >= start.tokens + 30 && during.clients >= start.clients + 30, "alive while held: \(during)")
    try expectEq(start, liveObjects(), "live objects after the scope")
}

await testAsync("objects used by async calls are released too") {
    let start = liveObjects()
    let aud = try admin.newApi()
    for _ in 0..<20 {
        let c = try client()
        _ = try await c.getToken(request: TokenRequest(audience: aud)).accessToken()
    }
    try expectEq(start, liveObjects(), "live objects")
}

await signInTests(shared: shared, secrets: secrets)
await scenarioTests(shared: shared)
await hardeningTests()
await sharedCacheTests()
await exchangeTests()
mrrtTests()
tlsTests()

test("every object made by this suite (but the shared client) was released") {
    let now = liveObjects()
    let b = baseline
    let expected = LiveObjects(
        clients: b.clients + 1, tokens: b.tokens, credentials: b.credentials, verifiers: b.verifiers, claims: b.claims,
        signInClients: b.signInClients, transactions: b.transactions, userCredentials: b.userCredentials, managers: b.managers,
        preparedRequests: b.preparedRequests)
    try expectEq(expected, now, "live objects")
}

print("swift: \(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
