// The shared scenarios S1-S7 of issue 10 (core-api brief), which every surface (Python, C,
// Kotlin, Swift) runs with the same expected outcome, against the local issuer over real HTTP.
// Called from main.swift (same harness and counters); ScenarioTest.kt runs the same scenarios
// in Kotlin.

import Dispatch
import Foundation
import TokenKeeper

/// S2: a storage whose `load` calls back into its own manager, and records what that call threw.
final class ReentrantStorage: CredentialsStore, @unchecked Sendable {
    private let lock = NSLock()
    weak var manager: CredentialsManager?
    private var _inner: [Error?] = []
    var inner: [Error?] { lock.withLock { _inner } }

    func load() throws -> UserCredentials? {
        guard let m = manager else { return nil }
        let calls: [() throws -> Void] = [{ _ = try m.hasCredentials() }, { _ = try m.credentialsBlocking(minTtl: 0) }]
        for call in calls {
            var thrown: Error?
            do { try call() } catch { thrown = error }
            lock.withLock { _inner.append(thrown) }
        }
        return nil
    }

    func save(credentials: UserCredentials) throws {}
    func clear() throws {}
}

/// S3: a storage that records how many of its calls ever ran at once (each `load` takes ~20 ms).
/// Written against the deprecated name `CredentialsStorage`, which must keep compiling for a release.
final class CountingStorage: CredentialsStorage, @unchecked Sendable {
    private let lock = NSLock()
    private let json: String
    private var now = 0
    private var _max = 0
    private var _calls = 0
    var max: Int { lock.withLock { _max } }
    var calls: Int { lock.withLock { _calls } }

    init(json: String) { self.json = json }

    private func counted<T>(_ body: () throws -> T) rethrows -> T {
        lock.withLock {
            _calls += 1
            now += 1
            _max = Swift.max(_max, now)
        }
        defer { lock.withLock { now -= 1 } }
        return try body()
    }

    func load() throws -> UserCredentials? {
        try counted {
            usleep(20_000)
            return try UserCredentials.fromJson(json: json)
        }
    }

    func save(credentials: UserCredentials) throws { counted {} }
    func clear() throws { counted {} }
}

/// Runs `body` on another thread and waits at most `seconds` for it: a deadlock fails the test.
func bounded<T>(_ seconds: Int = 20, _ body: @escaping () throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, Error>?
    Thread {
        result = Result { try body() }
        done.signal()
    }.start()
    guard done.wait(timeout: .now() + .seconds(seconds)) == .success, let r = result else {
        throw Failure(description: "no answer within \(seconds) s (a deadlock?)")
    }
    return try r.get()
}

func publicClientWith(_ http: HttpOptions) throws -> SignInClient {
    try SignInClient(config: SignInConfig(domain: Fx.url, clientId: Fx.publicClientId, redirectUri: Fx.redirectUri, http: http))
}

func verifierWith(_ http: HttpOptions) throws -> TokenVerifier {
    try TokenVerifier(config: VerifierConfig(domain: Fx.url, audience: Fx.api, http: http))
}

func expectStorage(_ e: TokenError, prefix: String, line: Int = #line) throws {
    guard case let .Storage(detail) = e else { throw Failure(description: "line \(line): expected Storage, got \(e)") }
    try expect(detail.hasPrefix(prefix), "detail: \(detail)", line: line)
}

func scenarioTests(shared: TokenClient) async {
    await testAsync("S1 storage error: a failing load or save is Storage (not Config), naming the method") {
        let s = try SignedIn()
        s.storage.failLoad = KeychainError(description: "keychain is locked")
        try expectStorage(try expectError { try s.manager.credentialsBlocking(minTtl: 60) }, prefix: "load() failed: keychain is locked")
        try expectStorage(try expectError { try s.manager.hasCredentials() }, prefix: "load() failed: keychain is locked")
        try expectStorage(try await expectErrorAsync { try await s.manager.credentials(minTtl: 60) }, prefix: "load() failed: keychain is locked")
        // A TokenError the storage throws on purpose comes back as itself.
        s.storage.failLoad = TokenError.ReauthenticationRequired(error: "keychain_item_gone", errorDescription: "the user removed it")
        let e3 = try expectError { try s.manager.credentialsBlocking(minTtl: 60) }
        guard case let .ReauthenticationRequired(error, description) = e3 else { throw Failure(description: "got \(e3)") }
        try expectEq("keychain_item_gone", error, "error")
        try expectEq("the user removed it", description, "description")
        // A failed save during a renewal: Storage naming save(), and the renewal is not lost.
        s.storage.failLoad = nil
        try s.storage.expire()
        s.storage.failSave = KeychainError(description: "disk full")
        try expectStorage(try expectError { try s.manager.credentialsBlocking(minTtl: 60) }, prefix: "save() failed: disk full")
        s.storage.failSave = nil
        let before = try Admin.shared.count("grant:refresh_token")
        try expect(try s.manager.credentialsBlocking(minTtl: 60).isValidFor(minTtl: 3600), "renewed credentials kept by the manager")
        try expectEq(0, try Admin.shared.count("grant:refresh_token") - before, "refresh grants")
        try expectEq(0, try Admin.shared.count("refresh_reuse"), "refresh tokens reused")
    }

    test("S2 re-entrant store: a load calling back into its manager gets Config at once, no deadlock") {
        let storage = ReentrantStorage()
        let m = CredentialsManager(signIn: try publicClient(), storage: storage)
        storage.manager = m
        try expectEq(false, try bounded { try m.hasCredentials() }, "outer hasCredentials")
        try expectReauth(try bounded { try expectError { try m.credentialsBlocking(minTtl: 0) } }, "no_credentials")
        let inner = storage.inner
        try expect(inner.count >= 4, "inner calls: \(inner)")
        for e in inner {
            guard case let .Config(detail)? = e as? TokenError, detail.contains("called back into the manager") else {
                throw Failure(description: "inner call: \(String(describing: e))")
            }
        }
    }

    test("S3 serialised store: 8 threads on a fresh manager, the store never runs two calls at once") {
        let stored = try UserCredentials(accessToken: "at", tokenType: "Bearer", expiresAt: Date(timeIntervalSinceNow: 3600),
                                     scope: "openid", refreshToken: "rt", idToken: nil)
        let storage = CountingStorage(json: stored.toJson())
        let m = CredentialsManager(signIn: try publicClient(), storage: storage)
        let lock = NSLock()
        nonisolated(unsafe) var errors: [Error] = []
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let c = try m.credentialsBlocking(minTtl: 60)
                if c.accessToken() != "at" { throw Failure(description: "access token \(c.accessToken())") }
            } catch {
                lock.withLock { errors.append(error) }
            }
        }
        try expect(errors.isEmpty, "errors: \(errors)")
        try expect(storage.calls >= 8, "store calls \(storage.calls)")
        try expectEq(1, storage.max, "most store calls at once")
    }

    test("S4 extra authorize parameters: sorted by name after the library's own") {
        let c = try publicClient()
        let extra = ["prompt": "login", "login_hint": "a@example.com", "connection": "Username-Password-Authentication"]
        let url = try c.authorize(params: AuthorizeParams(extra: extra)).url()
        let want = "&connection=Username-Password-Authentication&login_hint=a%40example.com&prompt=login"
        try expect(url.hasSuffix(want), "url \(url)")
    }

    test("S5 claims: getI64 truncates 1.5 to 1, getF64 is 1.5, hasScope needs every scope") {
        let t = nowSecs()
        let token = try signed(["iss": Fx.issuer, "aud": Fx.api, "sub": "s5", "iat": t, "exp": t + 600, "n": 1.5, "scope": "read:a write:b"])
        let c = try verifierWith(HttpOptions()).verifyBlocking(token: token)
        try expectEq(1, c.getI64(name: "n"), "getI64")
        try expectEq(1.5, c.getF64(name: "n"), "getF64")
        try expectEq(nil, c.getI64(name: "sub"), "getI64 of a string")
        try expect(c.hasScope(scope: "read:a write:b"), "hasScope(read:a write:b)")
        try expect(!c.hasScope(scope: "read:a delete:c"), "hasScope(read:a delete:c)")
        try expect(c.hasScope(scope: "write:b"), "hasScope(write:b)")
    }

    test("S6 HTTP knobs: every knob on all three configs; maxAttempts 0 or 11 is Config; 1 vs 2 attempts") {
        let all = HttpOptions(connectTimeout: 2, requestTimeout: 5, maxResponseBytes: 100_000, maxAttempts: 2,
                              initialBackoff: 0.01, maxBackoff: 0.05, maxRetryAfter: 1)
        _ = try client(config(http: all))
        _ = try verifierWith(all)
        _ = try publicClientWith(all)
        for n: UInt32 in [0, 11] {
            let bad = HttpOptions(maxAttempts: n)
            try expectConfig(try expectError { try client(config(http: bad)) }, containing: "max_attempts")
            try expectConfig(try expectError { try verifierWith(bad) }, containing: "max_attempts")
            try expectConfig(try expectError { try publicClientWith(bad) }, containing: "max_attempts")
        }
        func fail503(_ endpoint: String) throws {
            try admin.fault(["endpoint": endpoint, "status": 503, "body": #"{"error":"temporarily_unavailable"}"#])
        }
        func attempts(_ n: UInt32) -> HttpOptions { HttpOptions(maxAttempts: n, initialBackoff: 0.01) }
        // The client's token request.
        for n: UInt32 in [1, 2] {
            let c = try client(config(http: attempts(n), cacheEnabled: false))
            let before = try admin.tokenRequests()
            try fail503("token")
            if n == 1 { try expectError { try c.getTokenBlocking(request: TokenRequest(audience: Fx.api)) } }
            else { _ = try c.getTokenBlocking(request: TokenRequest(audience: Fx.api)) }
            try expectEq(Int(n), try admin.tokenRequests() - before, "token requests with maxAttempts=\(n)")
        }
        // The verifier's JWKS request (a fresh verifier has no JWKS yet).
        let token = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api)).accessToken()
        for n: UInt32 in [1, 2] {
            let v = try verifierWith(attempts(n))
            let before = try admin.count("jwks")
            try fail503("jwks")
            if n == 1 { try expectError { try v.verifyBlocking(token: token) } }
            else { _ = try v.verifyBlocking(token: token) }
            try expectEq(Int(n), try admin.count("jwks") - before, "JWKS requests with maxAttempts=\(n)")
        }
        // The sign-in client's /userinfo request.
        let (_, creds) = try signIn(try publicClient())
        for n: UInt32 in [1, 2] {
            let c = try publicClientWith(attempts(n))
            let before = try admin.count("userinfo")
            try fail503("userinfo")
            if n == 1 { try expectError { try c.userinfoBlocking(accessToken: creds.accessToken()) } }
            else { _ = try c.userinfoBlocking(accessToken: creds.accessToken()) }
            try expectEq(Int(n), try admin.count("userinfo") - before, "userinfo requests with maxAttempts=\(n)")
        }
    }

    await testAsync("S7 default audience: a request without an audience gets the default one, or Config") {
        let c = try client(config(defaultAudience: Fx.api))
        let token = try c.getTokenBlocking(request: TokenRequest()).accessToken()
        let viaAsync = try await c.getToken(request: TokenRequest(scope: "read:things")).accessToken()
        let v = try verifierWith(HttpOptions())
        try expectEq([Fx.api], try v.verifyBlocking(token: token).aud(), "aud")
        try expectEq("read:things", try v.verifyBlocking(token: viaAsync).scope(), "scope")
        try expectConfig(try expectError { try shared.getTokenBlocking(request: TokenRequest()) }, containing: "default audience")
        let e = try await expectErrorAsync { try await shared.getToken(request: TokenRequest(audience: "")) }
        guard case .Config = e else { throw Failure(description: "expected Config, got \(e)") }
    }

    await testAsync("P1 prepared request: normalised once, hits counted by the core, one slot, a one-call header") {
        let c = try client()
        let req = TokenRequest(audience: Fx.api, scope: "write:things read:things read:things")
        c.invalidate(request: req)
        let before = try Admin.shared.tokenRequests()
        let p = try c.prepare(request: req)
        try expectEq(TokenRequest(audience: Fx.api, scope: "read:things write:things", organization: nil), p.request(), "normalised")
        let first = try p.getTokenBlocking().accessToken()
        let hits = c.stats().cacheHits
        let again = try await p.getToken().accessToken()
        try expectEq(first, again, "a hit")
        try expectEq(hits + 1, c.stats().cacheHits, "counted at once")
        try expectEq(first, try c.getTokenBlocking(request: TokenRequest(audience: Fx.api, scope: "read:things write:things")).accessToken(), "one slot")
        try expectEq("Bearer \(first)", try p.authorizationHeaderBlocking(), "header in one call")
        try expectEq(1, try Admin.shared.tokenRequests() - before, "token requests")
        let t = try p.getTokenBlocking()
        try expectEq(true, p.invalidateIfCurrent(token: t) && !p.invalidateIfCurrent(token: t), "dropped once")
        let fresh = try p.getTokenBlocking().accessToken()
        try expectEq(false, fresh == first, "a new token after invalidateIfCurrent")
        try expectEq(2, try Admin.shared.tokenRequests() - before, "token requests")
        try expectEq(true, p.description.contains("PreparedRequest") && !p.description.contains(fresh), "text")
        c.invalidate(request: req) // the process cache as found
        try expectConfig(try expectError { _ = try client().prepare(request: TokenRequest()) }, containing: "audience")
    }

    await testAsync("R1 after rejection: the rejected token is dropped once, the retry gets a new one") {
        let c = try client()
        let req = TokenRequest(audience: Fx.api, scope: "read:things write:things")
        let p = try c.prepare(request: req)
        let t1 = try p.getTokenBlocking()
        let before = try Admin.shared.tokenRequests()
        guard let t2 = try p.afterRejectionBlocking(token: t1) else { throw Failure(description: "no new token") }
        guard let again = try await p.afterRejection(token: t1) else { throw Failure(description: "no newer token") }
        try expectEq(false, t2.accessToken() == t1.accessToken(), "a new token")
        try expectEq(t2.accessToken(), again.accessToken(), "the same newer token")
        try expectEq(1, try Admin.shared.tokenRequests() - before, "token requests")
        c.invalidate(request: req)
    }

    test("U1 user credentials: expiresAt from the epoch to 9999-12-31T23:59:59Z, else Config") {
        let latest = Date(timeIntervalSince1970: 253_402_300_799)
        try expectEq(latest, try UserCredentials(accessToken: "at", tokenType: "Bearer", expiresAt: latest).expiresAt(), "latest")
        for bad in [Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: 253_402_300_800)] {
            try expectConfig(try expectError { _ = try UserCredentials(accessToken: "at", tokenType: "Bearer", expiresAt: bad) },
                             containing: "expires_at is out of range")
        }
        let json = "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_at\":253402300800}"
        try expectConfig(try expectError { _ = try UserCredentials.fromJson(json: json) }, containing: "expires_at is out of range")
    }
}
