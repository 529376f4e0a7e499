// Token exchange through the cache: the scenario of core/tests/exchange.rs, ExchangeTest.kt and
// python/tests/test_exchange.py (On-Behalf-Of, Custom Token Exchange, Token Vault; one request
// per subject, never cached past the subject's `exp`, the `act` chain through the verifier),
// against the local issuer over real HTTP. Called from main.swift.

import Dispatch
import Foundation
import TokenKeeper

let accessType = "urn:ietf:params:oauth:token-type:access_token"

enum ExchangeFx {
    /// The fixture's Custom Token Exchange profile: its type and the one subject it accepts.
    static let cteType = env("TK_EXCHANGE_SUBJECT_TOKEN_TYPE")
    static let cteToken = env("TK_EXCHANGE_SUBJECT_TOKEN")
    /// A Token Vault connection of the fixture.
    static let vaultConnection = env("TK_VAULT_CONNECTION")
}

/// A user's access token for the fixture's API, signed by the issuer, with `extra` claims.
func userToken(lifetime: Int = 3600, sub: String = Fx.userSub, extra: [String: Any] = [:]) throws -> String {
    let n = nowSecs()
    var c: [String: Any] = ["iss": Fx.issuer, "sub": sub, "aud": Fx.api, "iat": n, "exp": n + lifetime, "scope": "read:things"]
    c.merge(extra) { _, new in new }
    return try signed(c)
}

func expectOAuth(_ e: TokenError, _ want: String, line: Int = #line) throws -> UInt16 {
    guard case let .OAuth(error, _, status) = e else { throw Failure(description: "line \(line): expected OAuth, got \(e)") }
    try expectEq(want, error, "error", line: line)
    return status
}

func expectConfigError(_ e: TokenError, line: Int = #line) throws {
    guard case .Config = e else { throw Failure(description: "line \(line): expected Config, got \(e)") }
}

func exchangeTests() async {
    test("X on-behalf-of is cached per subject: same token for the same subject and scope set, another for another subject") {
        let downstream = try admin.newApi()
        let before = try admin.count("grant:token_exchange:obo")
        let c = try client()
        let alice = try userToken()
        let t = try c.exchangeBlocking(subjectToken: alice, subjectTokenType: accessType, audience: downstream,
                                       scope: "write:things read:things")
        let v = try verifier(audience: downstream)
        let claims = try v.verifyBlocking(token: t.accessToken())
        try expectEq(Fx.userSub, claims.sub(), "sub")
        try expectEq([downstream], claims.aud(), "aud")
        try expectEq(["\(Fx.clientId)@clients"], claims.actorChain(), "act chain")
        let again = try c.exchangeBlocking(subjectToken: alice, subjectTokenType: accessType, audience: downstream,
                                           scope: "read:things write:things read:things")
        try expectEq(t.accessToken(), again.accessToken(), "the second exchange of alice (a hit)")
        let bob = try c.exchangeBlocking(subjectToken: try userToken(sub: "auth0|bob"), subjectTokenType: accessType,
                                         audience: downstream)
        try expectEq("auth0|bob", try v.verifyBlocking(token: bob.accessToken()).sub(), "bob's sub")
        try expectEq(2, try admin.count("grant:token_exchange:obo") - before, "OBO exchanges sent")
    }

    test("X 100 concurrent exchanges of one subject send one request") {
        let downstream = try admin.newApi()
        let before = try admin.count("grant:token_exchange:obo")
        let c = try client()
        let subject = try userToken()
        let lock = NSLock()
        nonisolated(unsafe) var got: [String] = []
        nonisolated(unsafe) var errors: [Error] = []
        DispatchQueue.concurrentPerform(iterations: 100) { _ in
            do {
                let t = try c.exchangeBlocking(subjectToken: subject, subjectTokenType: accessType, audience: downstream)
                lock.lock(); got.append(t.accessToken()); lock.unlock()
            } catch {
                lock.lock(); errors.append(error); lock.unlock()
            }
        }
        try expect(errors.isEmpty, "errors: \(errors)")
        try expectEq(100, got.count, "tokens")
        try expectEq(1, Set(got).count, "distinct tokens")
        try expectEq(1, try admin.count("grant:token_exchange:obo") - before, "OBO exchanges sent")
    }

    test("X never cached past the subject's exp; an expired subject is refused before any request") {
        let downstream = try admin.newApi()
        let c = try client()
        let t = try c.exchangeBlocking(subjectToken: try userToken(lifetime: 30), subjectTokenType: accessType,
                                       audience: downstream)
        try expect(t.expiresIn() <= 30, "expiresIn \(t.expiresIn()) > 30")
        try expect(t.expiresAt().timeIntervalSince1970 <= Double(nowSecs() + 30), "expires at \(t.expiresAt()), after the subject")
        let expired = try userToken(extra: ["exp": nowSecs() - 5])
        let before = try admin.tokenRequests()
        let e = try expectError { try c.exchangeBlocking(subjectToken: expired, subjectTokenType: accessType, audience: downstream) }
        guard case .InvalidToken(.expired, _) = e else { throw Failure(description: "expected InvalidToken(expired), got \(e)") }
        try expectEq(0, try admin.tokenRequests() - before, "token requests")
    }

    test("X an actor token: the act chain through the verifier; an actor without its type is Config") {
        let downstream = try admin.newApi()
        let c = try client()
        let subject = try userToken(extra: ["act": ["sub": "first-hop"]])
        let agent = try userToken(sub: "agent|7")
        let t = try c.exchangeBlocking(subjectToken: subject, subjectTokenType: accessType, audience: downstream,
                                       actorToken: agent, actorTokenType: accessType)
        try expectEq(["agent|7", "first-hop"], try verifier(audience: downstream).verifyBlocking(token: t.accessToken()).actorChain(),
                     "act chain")
        try expectConfigError(try expectError {
            try c.exchangeBlocking(subjectToken: subject, subjectTokenType: accessType, audience: downstream, actorToken: agent)
        })
    }

    test("X custom token exchange and its refusals") {
        let downstream = try admin.newApi()
        let c = try client()
        let t = try c.exchangeBlocking(subjectToken: ExchangeFx.cteToken, subjectTokenType: ExchangeFx.cteType, audience: downstream)
        try expectEq(Fx.userSub, try verifier(audience: downstream).verifyBlocking(token: t.accessToken()).sub(), "sub")
        let forged = try expectError {
            try c.exchangeBlocking(subjectToken: "forged", subjectTokenType: ExchangeFx.cteType, audience: downstream)
        }
        try expectEq(403, try expectOAuth(forged, "invalid_grant"), "status of a subject the profile refuses")
        _ = try expectOAuth(try expectError {
            try c.exchangeBlocking(subjectToken: "x", subjectTokenType: "urn:example:nobody", audience: downstream)
        }, "invalid_request")
        try expectConfigError(try expectError {
            try c.exchangeBlocking(subjectToken: "x", subjectTokenType: "not a uri", audience: downstream)
        })
    }

    test("X token vault: a federated connection's token, cached; a foreign login_hint is refused") {
        let before = try admin.count("grant:token_vault")
        let c = try client()
        // A subject of its own (a unique claim), so the cache is cold for it.
        let subject = try userToken(extra: ["jti": "swift-\(DispatchTime.now().uptimeNanoseconds)"])
        let conn = ExchangeFx.vaultConnection
        let vault = { (hint: String) in
            try c.exchangeBlocking(subjectToken: subject, subjectTokenType: accessType, connection: conn, loginHint: hint)
        }
        let t = try vault(Fx.userEmail)
        try expect(t.accessToken().hasPrefix("fca.\(conn)."), "not a token of \(conn)")
        try expectEq(t.accessToken(), try vault(Fx.userEmail).accessToken(), "the second vault exchange (a hit)")
        try expectEq(1, try admin.count("grant:token_vault") - before, "vault exchanges sent")
        _ = try expectOAuth(try expectError { try vault("mallory@example.com") }, "invalid_grant")
        // An API refused the token: forgotten once, then the next exchange asks again.
        let forget = {
            c.invalidateExchangeIfCurrent(token: t, subjectToken: subject, subjectTokenType: accessType, connection: conn,
                                          loginHint: Fx.userEmail)
        }
        try expect(forget(), "not forgotten")
        try expect(!forget(), "forgotten twice")
        _ = try vault(Fx.userEmail)
        // Mallory's refused request counts too.
        try expectEq(3, try admin.count("grant:token_vault") - before, "vault exchanges after the invalidation")
    }

    await testAsync("X async exchange: 20 concurrent tasks, one request, then a hit") {
        let downstream = try admin.newApi()
        let before = try admin.count("grant:token_exchange:obo")
        let c = try client()
        let subject = try userToken()
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask { try await c.exchange(subjectToken: subject, subjectTokenType: accessType, audience: downstream).accessToken() }
            }
            var all: [String] = []
            for try await t in group { all.append(t) }
            return all
        }
        try expectEq(1, Set(tokens).count, "distinct tokens")
        try expectEq(tokens[0], try c.exchangeBlocking(subjectToken: subject, subjectTokenType: accessType, audience: downstream).accessToken(),
                     "the blocking hit")
        try expectEq(1, try admin.count("grant:token_exchange:obo") - before, "OBO exchanges sent")
    }
}
