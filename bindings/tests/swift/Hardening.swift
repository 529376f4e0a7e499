// The shared scenarios H-A..H-D of round 2 (hardening, issue 12), which every surface runs with
// the same expected outcome, against the local issuer over real HTTP (the core's own tests of
// them are core/tests/hardening.rs). Called from main.swift (same harness and counters);
// HardeningTest.kt runs the same scenarios in Kotlin.

import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TokenKeeper

/// Retries with short waits, as the core's tests use (`fast_retries`).
func fastRetries(maxAttempts: UInt32 = 3) -> HttpOptions {
    HttpOptions(maxAttempts: maxAttempts, initialBackoff: 0.02, maxBackoff: 0.1)
}

/// A `private_key_jwt` client (RS256) of the fixture.
func keyClient(_ http: HttpOptions) throws -> TokenClient {
    try client(ClientConfig(domain: Fx.url, clientId: Fx.jwtClientId, credentials: Credentials.privateKey(pem: Fx.rsaKey, alg: .rs256), http: http))
}

/// Claims of a good access token for the API, with `extra` members.
func accessClaims(_ extra: [String: Any] = [:]) -> [String: Any] {
    let t = nowSecs()
    var c: [String: Any] = ["iss": Fx.issuer, "aud": Fx.api, "sub": "h-c@clients", "iat": t, "exp": t + 600]
    for (k, v) in extra { c[k] = v }
    return c
}

func expectRateLimited(_ e: TokenError, over seconds: Double, _ what: String, line: Int = #line) throws {
    guard case let .RateLimited(retryAfter, _) = e else { throw Failure(description: "line \(line): \(what): expected RateLimited, got \(e)") }
    try expect((retryAfter ?? 0) > seconds, "\(what): retry after \(String(describing: retryAfter))", line: line)
}

func hardeningTests() async {
    test("V1 the credential from a file the environment names: a secret or a private key, exactly one") {
        let dir = tempRoot() + "/tk-v1-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            for k in ["AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_PRIVATE_KEY_FILE", "AUTH0_CLIENT_SECRET_FILE", "AUTH0_AUDIENCE"] { unsetenv(k) }
            try? FileManager.default.removeItem(atPath: dir)
        }
        let secret = dir + "/secret", key = dir + "/key.pem"
        try (Fx.clientSecret + "\n").write(toFile: secret, atomically: true, encoding: .utf8)
        try Fx.rsaKey.write(toFile: key, atomically: true, encoding: .utf8)
        setenv("AUTH0_DOMAIN", Fx.url, 1); setenv("AUTH0_CLIENT_ID", Fx.clientId, 1); unsetenv("AUTH0_CLIENT_SECRET")
        setenv("AUTH0_CLIENT_SECRET_FILE", secret, 1); setenv("AUTH0_AUDIENCE", Fx.api, 1)
        _ = try TokenClient.fromEnv().getTokenBlocking(request: TokenRequest())
        setenv("AUTH0_CLIENT_ID", Fx.jwtClientId, 1); unsetenv("AUTH0_CLIENT_SECRET_FILE"); setenv("AUTH0_PRIVATE_KEY_FILE", key, 1)
        let c = try TokenClient.fromEnv()
        try expectEq(AuthMethod.privateKeyJwt, c.authMethod(), "auth method")
        _ = try c.getTokenBlocking(request: TokenRequest())
        setenv("AUTH0_CLIENT_SECRET", "also-a-secret", 1)
        let both = try expectError("two credentials") { try TokenClient.fromEnv() }
        try expect(both.description.contains("AUTH0_PRIVATE_KEY_FILE") && !both.description.contains("also-a-secret"), both.description)
        unsetenv("AUTH0_CLIENT_SECRET"); setenv("AUTH0_PRIVATE_KEY_FILE", "/nonexistent/tk-key.pem", 1)
        let missing = try expectError("a missing key file") { try TokenClient.fromEnv() }
        try expect(missing.description.contains("AUTH0_PRIVATE_KEY_FILE \"/nonexistent/tk-key.pem\""), missing.description)
    }

    test("V2 a verifier and a sign-in app from the environment: no credential is public, a secret file confidential") {
        let dir = tempRoot() + "/tk-v2-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            for k in ["AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_AUDIENCE", "AUTH0_REDIRECT_URI",
                      "AUTH0_SCOPE", "AUTH0_CLIENT_SECRET_FILE"] { unsetenv(k) }
            try? FileManager.default.removeItem(atPath: dir)
        }
        let secret = dir + "/secret"
        try (Fx.webClientSecret + "\n").write(toFile: secret, atomically: true, encoding: .utf8)
        setenv("AUTH0_DOMAIN", Fx.url, 1); setenv("AUTH0_CLIENT_ID", Fx.clientId, 1)
        setenv("AUTH0_CLIENT_SECRET", Fx.clientSecret, 1); setenv("AUTH0_AUDIENCE", Fx.api, 1)
        unsetenv("AUTH0_REDIRECT_URI"); unsetenv("AUTH0_SCOPE")
        let token = try TokenClient.fromEnv().getTokenBlocking(request: TokenRequest()).accessToken()
        try expectEq([Fx.api], try TokenVerifier.fromEnv().verifyBlocking(token: token).aud(), "aud")
        setenv("AUTH0_CLIENT_ID", Fx.publicClientId, 1); unsetenv("AUTH0_CLIENT_SECRET")
        let noRedirect = try expectError("no redirect URI") { try SignInClient.fromEnv() }
        try expect(noRedirect.description.contains("AUTH0_REDIRECT_URI"), noRedirect.description)
        setenv("AUTH0_REDIRECT_URI", Fx.redirectUri, 1); setenv("AUTH0_SCOPE", "openid email read:things", 1)
        let pub = try SignInClient.fromEnv()
        let tx = try pub.authorize(params: AuthorizeParams())
        try expectEq("openid email read:things offline_access", tx.scope(), "scope")
        try expect(try pub.handleCallbackBlocking(transaction: tx, callbackUrl: try browse(tx.url())).hasScope(scope: "read:things"), "read:things")
        setenv("AUTH0_CLIENT_ID", Fx.webClientId, 1); setenv("AUTH0_CLIENT_SECRET_FILE", secret, 1)
        let before = try Admin.shared.count("auth:client_secret_post")
        let web = try SignInClient.fromEnv()
        let wtx = try web.authorize(params: AuthorizeParams())
        _ = try web.handleCallbackBlocking(transaction: wtx, callbackUrl: try browse(wtx.url()))
        try expectEq(1, try Admin.shared.count("auth:client_secret_post") - before, "the exchange sent the file's secret")
        unsetenv("AUTH0_DOMAIN")
        let noDomain = try expectError("no domain") { try TokenVerifier.fromEnv() }
        try expect(noDomain.description.contains("AUTH0_DOMAIN"), noDomain.description)
    }

    test("C1 a far date (exp 1e308) verifies and reads as 9999-12-31T23:59:59Z") {
        let t = nowSecs()
        let v = try verifier()
        let c = try v.verifyBlocking(token: try signed(["iss": Fx.issuer, "aud": Fx.api, "sub": "c1", "iat": t - 10, "exp": 1e308]))
        try expectEq(Date(timeIntervalSince1970: 253_402_300_799), c.exp(), "exp")
        try expectEq(Date(timeIntervalSince1970: TimeInterval(t - 10)), c.iat(), "iat")
    }

    test("E1 errors carry the core: kind, transient, HTTP status, check name and the core's message") {
        let limited = try faulted(["endpoint": "token", "status": 429, "headers": [["retry-after", "120"]],
                                   "body": #"{"error":"too_many_requests","error_description":"Global limit has been reached"}"#])
        guard case .RateLimited = limited else { throw Failure(description: "expected RateLimited, got \(limited)") }
        try expectEq("rate_limited", limited.kind(), "429 kind")
        try expect(limited.isTransient(), "a 429 is transient")
        try expectEq(429, limited.httpStatus(), "429 status")
        try expectEq("rate limited by the server (HTTP 429), retry after 120.0 s (Global limit has been reached)", limited.description, "429 text")
        let denied = try faulted(["endpoint": "token", "status": 403,
                                  "body": #"{"error":"access_denied","error_description":"Service not enabled within domain"}"#])
        guard case .OAuth = denied else { throw Failure(description: "expected OAuth, got \(denied)") }
        try expectEq("oauth", denied.kind(), "403 kind")
        try expect(!denied.isTransient(), "a 403 is not transient")
        try expectEq(403, denied.httpStatus(), "403 status")
        try expect(denied.checkName() == nil, "no check")
        try expectEq("OAuth error from the server (HTTP 403): access_denied (Service not enabled within domain)", denied.description, "403 text")
        let v = try verifier()
        let t = nowSecs()
        let token = try signed(["iss": Fx.issuer, "aud": Fx.api, "sub": "e1", "iat": t - 7200, "exp": t - 3600])
        let expired = try expectError("an expired token") { try v.verifyBlocking(token: token) }
        try expectEq("invalid_token", expired.kind(), "expired kind")
        try expectEq("expired", expired.checkName(), "check name")
        try expect(expired.httpStatus() == nil, "no HTTP status")
        try expect(expired.description.hasPrefix("invalid token (expired): "), "expired text: \(expired.description)")
    }

    await testAsync("H-A 429 remembered: 100 calls after a 429 (Retry-After 3600) are RateLimited, 1 request") {
        let aud = try admin.newApi()
        let c = try client(config(http: fastRetries()))
        let other = TokenRequest(audience: aud, scope: "read:things")
        let held = try c.getTokenBlocking(request: other)
        let req = TokenRequest(audience: aud)
        var before = try admin.tokenRequests()
        try admin.fault([
            "status": 429,
            "body": #"{"error":"too_many_requests","error_description":"Global limit has been reached"}"#,
            "headers": [["retry-after", "3600"]],
        ])
        for n in 0..<100 {
            // Half blocking, half async: one rule for both.
            let e: TokenError
            if n % 2 == 0 {
                e = try expectError { try c.getTokenBlocking(request: req) }
            } else {
                e = try await expectErrorAsync { try await c.getToken(request: req) }
            }
            try expectRateLimited(e, over: 3500, "call \(n)")
        }
        try expectEq(1, try admin.tokenRequests() - before, "token requests for 100 calls after a 429")
        // Another key of the same client is not limited: its valid token is still served.
        try expect(try c.getTokenBlocking(request: other).isSame(other: held), "the other scope's token from the cache")
        try expectEq(1, try admin.tokenRequests() - before, "token requests")
        // Once Retry-After has passed, a request goes out again (no retries, so the transport
        // does not wait out the short Retry-After itself).
        let once = try client(config(http: HttpOptions(maxAttempts: 1)))
        let short = TokenRequest(audience: aud, scope: "write:things")
        before = try admin.tokenRequests()
        try admin.fault(["status": 429, "body": #"{"error":"too_many_requests"}"#, "headers": [["retry-after", "1"]]])
        try expectRateLimited(try expectError { try once.getTokenBlocking(request: short) }, over: 0, "first call")
        try expectRateLimited(try expectError { try once.getTokenBlocking(request: short) }, over: 0, "second call")
        try expectEq(1, try admin.tokenRequests() - before, "token requests while limited")
        try await Task.sleep(nanoseconds: 1_100_000_000)
        _ = try once.getTokenBlocking(request: short)
        try expectEq(2, try admin.tokenRequests() - before, "token requests once Retry-After passed")
    }

    await testAsync("H-B new assertion per attempt: a 503 after handling, then the retry succeeds (2 requests)") {
        let c = try keyClient(fastRetries(maxAttempts: 2))
        // The first attempt is handled (its jti spent), but its answer is lost to a 503.
        let fault: [String: Any] = ["status": 503, "body": #"{"error":"temporarily_unavailable"}"#, "after_handling": true]
        var before = try admin.tokenRequests()
        try admin.fault(fault)
        try expectEq(3, jwtParts(try c.getTokenBlocking(request: TokenRequest(audience: try admin.newApi())).accessToken()), "token")
        try expectEq(2, try admin.tokenRequests() - before, "token requests (blocking)")
        before = try admin.tokenRequests()
        try admin.fault(fault)
        _ = try await c.getToken(request: TokenRequest(audience: try admin.newApi()))
        try expectEq(2, try admin.tokenRequests() - before, "token requests (async)")
    }

    await testAsync("H-C typ: at+jwt verifies; an ID token's claims or typ logout+jwt are tokenType") {
        let v = try verifier()
        for typ in ["JWT", "at+jwt", "application/at+JWT"] {
            try expectEq("h-c@clients", try v.verifyBlocking(token: try signed(accessClaims(), header: ["typ": typ])).sub(), "sub with typ \(typ)")
        }
        for typ in ["logout+jwt", "id_token+jwt"] {
            try expectEq(TokenCheck.tokenType, try rejected { try v.verifyBlocking(token: try signed(accessClaims(), header: ["typ": typ])) }, "typ \(typ)")
        }
        // An ID token (nonce, at_hash or c_hash) sent to an API whose audience it names.
        let idClaims: [[String: Any]] = [["nonce": "n-1", "auth_time": nowSecs()], ["at_hash": "x"], ["c_hash": "x"]]
        for extra in idClaims {
            try expectEq(TokenCheck.tokenType, try rejected { try v.verifyBlocking(token: try signed(accessClaims(extra))) }, "access token with \(extra.keys.sorted())")
        }
        let e = try await expectErrorAsync { try await v.verify(token: try signed(accessClaims(["nonce": "n-2"]))) }
        guard case .InvalidToken(.tokenType, _) = e else { throw Failure(description: "async verify: got \(e)") }
        // An access token (at+jwt) offered as an ID token; azp, when present, is the client.
        let ids = try verifier(audience: Fx.publicClientId)
        let t = nowSecs()
        let id: [String: Any] = ["iss": Fx.issuer, "aud": Fx.publicClientId, "sub": "auth0|u", "iat": t, "exp": t + 600]
        try expectEq(TokenCheck.tokenType, try rejected { try ids.verifyIdTokenBlocking(token: try signed(id, header: ["typ": "at+jwt"])) }, "at+jwt as an ID token")
        try expectEq("auth0|u", try ids.verifyIdTokenBlocking(token: try signed(id)).sub(), "ID token sub")
        var otherAzp = id
        otherAzp["azp"] = "someone-else"
        try expectEq(TokenCheck.authorizedParty, try rejected { try ids.verifyIdTokenBlocking(token: try signed(otherAzp)) }, "azp of another client")
    }

    test("H-D invalidateIfCurrent: drops T1 once, never the newer T2 (2 requests)") {
        let aud = try admin.newApi()
        let c = try client()
        let req = TokenRequest(audience: aud)
        let before = try admin.tokenRequests()
        let t1 = try c.getTokenBlocking(request: req)
        try expectEq(true, c.invalidateIfCurrent(request: req, token: t1), "invalidateIfCurrent(T1) while T1 is cached")
        try expect(c.cached(request: req) == nil, "nothing cached after invalidateIfCurrent")
        let t2 = try c.getTokenBlocking(request: req)
        try expect(!t2.isSame(other: t1) && t2.accessToken() != t1.accessToken(), "a new token T2")
        try expectEq(false, c.invalidateIfCurrent(request: req, token: t1), "invalidateIfCurrent(T1) once T2 is cached")
        try expect(c.cached(request: req)?.isSame(other: t2) == true, "T2 still cached")
        try expect(try c.getTokenBlocking(request: req).isSame(other: t2), "T2 served")
        try expectEq(2, try admin.tokenRequests() - before, "token requests")
        // Another request's token is not T1's key: nothing to drop.
        try expectEq(false, c.invalidateIfCurrent(request: TokenRequest(audience: aud, scope: "read:things"), token: t2), "another key")
        // No audience and no default audience: false (as invalidate() ignores it).
        try expectEq(false, c.invalidateIfCurrent(request: TokenRequest(), token: t2), "request without an audience")
        try expect(c.cached(request: req)?.isSame(other: t2) == true, "T2 still cached")
    }
}
