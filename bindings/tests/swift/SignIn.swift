// Swift tests of validation, user sign-in (authorization code + PKCE), the credentials manager
// with a storage written in Swift, and /userinfo — against the local issuer over real HTTP.
// A failing storage is scenario S1, in Scenarios.swift.
// Called from main.swift (same harness and counters).

import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TokenKeeper

// MARK: - Helpers

func verifier(audience: String = Fx.api, organization: String? = nil, algorithms: [SigningAlg]? = nil,
              leeway: TimeInterval? = nil) throws -> TokenVerifier {
    try TokenVerifier(config: VerifierConfig(
        domain: Fx.url, audience: audience, leeway: leeway, organization: organization, algorithms: algorithms))
}

func nowSecs() -> Int { Int(Date().timeIntervalSince1970) }

/// A token signed by the issuer's active key, with these claims and extra header members.
func signed(_ claims: [String: Any], header: [String: Any]? = nil) throws -> String {
    var req: [String: Any] = ["claims": claims]
    if let header = header { req["header"] = header }
    let body = String(data: try JSONSerialization.data(withJSONObject: req), encoding: .utf8)!
    let reply = try JSONSerialization.jsonObject(with: Admin.shared.send("POST", "/__admin/sign", body))
    guard let token = (reply as? [String: Any])?["token"] as? String else { throw Failure(description: "sign: no token") }
    return token
}

func b64url(_ s: String) -> String {
    Data(s.utf8).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// The check named by a rejection (anything else fails the test).
func rejected<T>(line: Int = #line, _ body: () throws -> T) throws -> TokenCheck {
    let e = try expectError(line: line, body)
    guard case let .InvalidToken(check, _) = e else { throw Failure(description: "line \(line): expected InvalidToken, got \(e)") }
    return check
}

func publicClient(audience: String? = nil, offlineAccess: Bool? = nil) throws -> SignInClient {
    try SignInClient(config: SignInConfig(
        domain: Fx.url, clientId: Fx.publicClientId, redirectUri: Fx.redirectUri, audience: audience,
        offlineAccess: offlineAccess))
}

func webClient() throws -> SignInClient {
    try SignInClient(config: SignInConfig(
        domain: Fx.url, clientId: Fx.webClientId, redirectUri: Fx.redirectUri,
        credentials: Credentials.clientSecret(secret: Fx.webClientSecret)))
}

/// Refuses every redirect, so the response is the 302 itself, with its Location.
final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

let browser: URLSession = {
    let cfg = URLSessionConfiguration.ephemeral
    cfg.timeoutIntervalForRequest = 10
    return URLSession(configuration: cfg, delegate: NoRedirects(), delegateQueue: nil)
}()

/// What a browser does with the /authorize URL, without following the redirect: its Location.
func browse(_ url: String) throws -> String {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: (URLResponse?, Error?) = (nil, nil)
    browser.dataTask(with: URL(string: url)!) { _, r, e in
        result = (r, e)
        done.signal()
    }.resume()
    guard done.wait(timeout: .now() + 15) == .success else { throw Failure(description: "GET /authorize: no answer") }
    if let e = result.1 { throw Failure(description: "GET /authorize: \(e)") }
    guard let http = result.0 as? HTTPURLResponse else { throw Failure(description: "GET /authorize: no HTTP response") }
    guard http.statusCode == 302 else { throw Failure(description: "GET /authorize: HTTP \(http.statusCode)") }
    guard let location = http.value(forHTTPHeaderField: "Location") else { throw Failure(description: "GET /authorize: no Location") }
    return location
}

func queryParam(_ url: String, _ name: String) -> String? {
    URLComponents(string: url)?.queryItems?.first { $0.name == name }?.value
}

/// The scopes of a user sign-in to the fixture API.
let userScope = "openid profile email read:things write:things"

/// Signs the fixture user in through the test-mode /authorize.
func signIn(_ client: SignInClient, audience: String? = Fx.api, scope: String = userScope) throws -> (LoginTransaction, UserCredentials) {
    let tx = try client.authorize(params: AuthorizeParams(audience: audience, scope: scope))
    return (tx, try client.handleCallbackBlocking(transaction: tx, callbackUrl: try browse(tx.url())))
}

struct KeychainError: Error, CustomStringConvertible {
    let description: String
}

/// A storage as an app writes one, in Swift: keeps one JSON blob (as a Keychain item would),
/// records every call, and can be told to fail.
final class RecordingStorage: CredentialsStore, @unchecked Sendable {
    private let lock = NSLock()
    private var blob: String?
    private var _calls: [String] = []
    private var _savedRefreshTokens: [String] = []
    private var _failLoad: Error?
    private var _failSave: Error?

    var calls: [String] { lock.withLock { _calls } }
    var savedRefreshTokens: [String] { lock.withLock { _savedRefreshTokens } }
    var failLoad: Error? {
        get { lock.withLock { _failLoad } }
        set { lock.withLock { _failLoad = newValue } }
    }
    var failSave: Error? {
        get { lock.withLock { _failSave } }
        set { lock.withLock { _failSave = newValue } }
    }

    func load() throws -> UserCredentials? {
        let (json, fail): (String?, Error?) = lock.withLock {
            _calls.append("load")
            return (blob, _failLoad)
        }
        if let fail = fail { throw fail }
        return try json.map { try UserCredentials.fromJson(json: $0) }
    }

    func save(credentials: UserCredentials) throws {
        let fail: Error? = lock.withLock {
            _calls.append("save")
            return _failSave
        }
        if let fail = fail { throw fail }
        let json = credentials.toJson()
        lock.withLock {
            blob = json
            _savedRefreshTokens.append(credentials.refreshToken() ?? "")
        }
    }

    func clear() throws {
        lock.withLock {
            _calls.append("clear")
            blob = nil
        }
    }

    /// What is stored now, read directly (not through the manager).
    func peek() throws -> UserCredentials? {
        try lock.withLock { blob }.map { try UserCredentials.fromJson(json: $0) }
    }

    /// Makes the stored access token look expired, as after the app slept for a day.
    func expire() throws {
        try lock.withLock {
            guard let b = blob else { throw Failure(description: "nothing stored") }
            let c = try UserCredentials.fromJson(json: b)
            blob = try UserCredentials(
                accessToken: c.accessToken(), tokenType: c.tokenType(), expiresAt: Date(timeIntervalSinceNow: -10),
                scope: c.scope(), refreshToken: c.refreshToken(), idToken: c.idToken()
            ).toJson()
        }
    }
}

/// A signed-in user's manager over a fresh RecordingStorage, with the sign-in credentials saved.
struct SignedIn {
    let client: SignInClient
    let storage = RecordingStorage()
    let first: UserCredentials
    let manager: CredentialsManager

    init(audience: String = Fx.api) throws {
        client = try publicClient()
        first = try signIn(client, audience: audience).1
        manager = CredentialsManager(signIn: client, storage: storage)
        try manager.save(credentials: first)
    }
}

func expectReauth(_ e: TokenError, _ want: String? = nil, line: Int = #line) throws {
    guard case let .ReauthenticationRequired(error, _) = e else {
        throw Failure(description: "line \(line): expected ReauthenticationRequired, got \(e)")
    }
    if let want = want { try expectEq(want, error, "error", line: line) }
}

func expectConfig(_ e: TokenError, containing: String, line: Int = #line) throws {
    guard case let .Config(detail) = e else { throw Failure(description: "line \(line): expected Config, got \(e)") }
    try expect(detail.contains(containing), "detail: \(detail)", line: line)
}

/// Uses a manager over a fresh storage and drops it; returns the storage weakly held.
func managerReleasingStorage() throws -> RecordingStorage? {
    let s = try SignedIn()
    weak var weakStorage: RecordingStorage?
    do {
        let storage = RecordingStorage()
        weakStorage = storage
        let m = CredentialsManager(signIn: s.client, storage: storage)
        try m.save(credentials: s.first)
        _ = try m.credentialsBlocking(minTtl: 60)
    }
    return weakStorage
}

// MARK: - Tests

func signInTests(shared: TokenClient, secrets: [String]) async {
    let v = try! verifier()

    // MARK: verification

    test("verify: a client-credentials access token gives its claims") {
        let token = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api, scope: "read:things")).accessToken()
        let before = v.stats()
        let c = try v.verifyBlocking(token: token)
        try expectEq(Fx.issuer, c.iss(), "iss")
        try expectEq([Fx.api], c.aud(), "aud")
        try expectEq("\(Fx.clientId)@clients", c.sub(), "sub")
        try expectEq(Fx.clientId, c.azp(), "azp")
        try expectEq("read:things", c.scope(), "scope")
        try expect(c.hasScope(scope: "read:things") && !c.hasScope(scope: "write:things"), "hasScope")
        let left = c.exp()?.timeIntervalSinceNow ?? 0
        try expect(left > 86000 && left <= 86400, "exp is \(left) s away")
        try expect(c.iat() != nil && c.nbf() == nil && c.orgId() == nil && c.nonce() == nil, "iat, nbf, org_id, nonce: \(c)")
        try expect(c.toJson().contains("\"gty\""), "toJson: \(c.toJson())")
        try expect(c.names().contains("jti"), "names: \(c.names())")
        try expectEq("\"client-credentials\"", c.getJson(name: "gty"), "getJson")
        try expectEq("client-credentials", c.getString(name: "gty"), "getString")
        try expectEq(nil, c.getString(name: "nope"), "absent claim")
        try expectEq(1, v.stats().verified - before.verified, "verified")
        try expectEq(Fx.url + "/.well-known/jwks.json", v.jwksUrl(), "jwks url")
        try expectEq([Fx.issuer], v.issuers(), "issuers")
    }

    test("verify: bad tokens are rejected with the check that failed") {
        let good = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api)).accessToken()
        let parts = good.split(separator: ".").map(String.init)
        let (h, p, s) = (parts[0], parts[1], parts[2])
        let rejected0 = v.stats().rejected
        let t = nowSecs()
        let expired = try signed(["iss": Fx.issuer, "aud": Fx.api, "sub": "x", "iat": t - 7200, "exp": t - 3600])
        try expectEq(TokenCheck.expired, try rejected { try v.verifyBlocking(token: expired) }, "expired")
        let other = try verifier(audience: "https://other.example.com")
        try expectEq(TokenCheck.audience, try rejected { try other.verifyBlocking(token: good) }, "wrong audience")
        let otherPayload = expired.split(separator: ".").map(String.init)[1]
        try expectEq(TokenCheck.signature, try rejected { try v.verifyBlocking(token: "\(h).\(otherPayload).\(s)") }, "tampered payload")
        var sig = Array(s)
        sig[10] = sig[10] == "A" ? "B" : "A"
        try expectEq(TokenCheck.signature, try rejected { try v.verifyBlocking(token: "\(h).\(p).\(String(sig))") }, "tampered signature")
        try expectEq(TokenCheck.malformed, try rejected { try v.verifyBlocking(token: "abc") }, "malformed")
        let none = b64url(#"{"alg":"none","typ":"JWT"}"#) + "." + p + "."
        try expectEq(TokenCheck.algorithm, try rejected { try v.verifyBlocking(token: none) }, "alg none")
        let unknownKid = try signed(["iss": Fx.issuer, "aud": Fx.api, "sub": "x", "exp": t + 600], header: ["kid": "nope"])
        try expectEq(TokenCheck.unknownKey, try rejected { try v.verifyBlocking(token: unknownKid) }, "unknown kid")
        let wrongIssuer = try signed(["iss": "https://evil.example.com/", "aud": Fx.api, "sub": "x", "exp": t + 600])
        try expectEq(TokenCheck.issuer, try rejected { try v.verifyBlocking(token: wrongIssuer) }, "wrong issuer")
        let es = try verifier(algorithms: [.es256])
        try expectEq(TokenCheck.algorithm, try rejected { try es.verifyBlocking(token: good) }, "RS256 refused by an ES256-only verifier")
        try expectEq(7, v.stats().rejected - rejected0, "rejections counted by the verifier")
        let e = try expectError { try v.verifyBlocking(token: expired) }
        try expect("\(e)".contains("expired"), "error text: \(e)")
    }

    test("verify: an organization-bound verifier accepts org_id and refuses others") {
        let orgToken = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api, organization: Fx.orgName)).accessToken()
        let ov = try verifier(organization: Fx.orgId)
        let c = try ov.verifyBlocking(token: orgToken)
        try expectEq(Fx.orgId, c.orgId(), "org_id")
        try expectEq(Fx.orgName, c.orgName(), "org_name")
        let plain = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api)).accessToken()
        try expectEq(TokenCheck.missingClaim, try rejected { try ov.verifyBlocking(token: plain) }, "token without an organization")
        let another = try verifier(organization: "org_someoneelse0000")
        try expectEq(TokenCheck.organization, try rejected { try another.verifyBlocking(token: orgToken) }, "another organization")
        _ = try verifier(organization: Fx.orgName).verifyBlocking(token: orgToken)
    }

    test("verify: an organization named after another organization's id does not pass that id (N1)") {
        let victim = "org_9ybsU1dN2dKfDkBi"
        func org(_ members: [String: Any]) throws -> String {
            var c: [String: Any] = ["iss": Fx.issuer, "aud": Fx.api, "sub": "x", "exp": nowSecs() + 600]
            for (k, v) in members { c[k] = v }
            return try signed(c)
        }
        let byId = try verifier(organization: victim)
        let attacker = try org(["org_id": "org_ATTACKERattackr", "org_name": victim.lowercased()])
        try expectEq(TokenCheck.organization, try rejected { try byId.verifyBlocking(token: attacker) }, "another org named after the id")
        try expectEq(TokenCheck.missingClaim, try rejected { try byId.verifyBlocking(token: try org(["org_name": victim])) }, "a name only")
        _ = try byId.verifyBlocking(token: try org(["org_id": victim]))
        let odd = try TokenVerifier(config: VerifierConfig(domain: Fx.url, audience: Fx.api, organizationName: "org_Odd-Name"))
        _ = try odd.verifyBlocking(token: try org(["org_name": "org_odd-name"]))
        try expectEq(TokenCheck.missingClaim, try rejected { try odd.verifyBlocking(token: try org(["org_id": "org_Odd-Name"])) }, "a name never matches org_id")
    }

    await testAsync("deprecated …Async aliases answer as the async calls they name (kept one release)") {
        let reuse0 = try Admin.shared.count("refresh_reuse")
        let client = try publicClient(audience: Fx.api)
        let tx = try client.authorize(params: AuthorizeParams(scope: userScope))
        let creds = try await client.handleCallbackAsync(transaction: tx, callbackUrl: try browse(tx.url()))
        try expectEq(Fx.userSub, try await client.idTokenVerifier().verifyIdTokenAsync(token: creds.idToken()!, nonce: tx.nonce()).sub(), "verifyIdTokenAsync")
        try expectEq(Fx.userSub, try await client.userinfoAsync(accessToken: creds.accessToken()).sub(), "userinfoAsync")
        let tx2 = try client.authorize(params: AuthorizeParams(scope: userScope))
        guard let code = queryParam(try browse(tx2.url()), "code") else { throw Failure(description: "no code") }
        try expect(!(try await client.exchangeCodeAsync(transaction: tx2, code: code).accessToken().isEmpty), "exchangeCodeAsync")
        let renewed = try await client.refreshAsync(refreshToken: creds.refreshToken()!)
        try expect(renewed.refreshToken() != creds.refreshToken(), "refreshAsync rotated")
        let m = CredentialsManager(signIn: client, storage: RecordingStorage())
        try m.save(credentials: renewed)
        try expectEq(renewed.accessToken(), try await m.credentialsAsync(minTtl: 60).accessToken(), "credentialsAsync")
        try expect(try await m.renewAsync().accessToken() != renewed.accessToken(), "renewAsync")
        try expectEq(0, try Admin.shared.count("refresh_reuse") - reuse0, "rotated-out refresh tokens sent again")
    }

    await testAsync("verify: async verify (and the deprecated verifyAsync), concurrent tasks, and config errors") {
        let token = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api)).accessToken()
        try expectEq(Fx.issuer, try await v.verify(token: token).iss(), "iss")
        try expectEq(Fx.issuer, try await v.verifyAsync(token: token).iss(), "iss (deprecated verifyAsync)")
        let e = try await expectErrorAsync { try await v.verify(token: "abc") }
        guard case .InvalidToken(.malformed, _) = e else { throw Failure(description: "expected InvalidToken(malformed), got \(e)") }
        let subs = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<16 { group.addTask { try await v.verify(token: token).sub() } }
            var all: [String?] = []
            for try await s in group { all.append(s) }
            return all
        }
        try expectEq(Set(["\(Fx.clientId)@clients"]), Set(subs.compactMap { $0 }), "subs")
        try expectEq(16, subs.count, "results")
        let bad: [() throws -> TokenVerifier] = [
            { try verifier(audience: " ") }, { try verifier(leeway: 3600) }, { try verifier(algorithms: []) },
            { try TokenVerifier(config: VerifierConfig(domain: "http://example.com", audience: Fx.api)) },
        ]
        for make in bad {
            let e = try expectError { try make() }
            guard case .Config = e else { throw Failure(description: "expected Config, got \(e)") }
        }
    }

    // MARK: sign-in: authorization code + PKCE

    test("code flow: authorize, GET /authorize (no redirect followed), handleCallback") {
        let client = try publicClient()
        let tx = try client.authorize(params: AuthorizeParams(audience: Fx.api, scope: userScope))
        let url = tx.url()
        try expect(url.hasPrefix(Fx.url + "/authorize?"), "url \(url)")
        try expectEq("code", queryParam(url, "response_type"), "response_type")
        try expectEq(Fx.publicClientId, queryParam(url, "client_id"), "client_id")
        try expectEq(Fx.api, queryParam(url, "audience"), "audience")
        try expectEq(tx.state(), queryParam(url, "state"), "state")
        try expectEq(tx.nonce(), queryParam(url, "nonce"), "nonce")
        try expectEq("S256", queryParam(url, "code_challenge_method"), "code_challenge_method")
        try expectEq("\(userScope) offline_access", tx.scope(), "scope")
        try expectEq(Fx.redirectUri, tx.redirectUri(), "redirect uri")
        let location = try browse(url)
        try expect(location.hasPrefix(Fx.redirectUri + "?"), "Location \(location)")
        try expectEq(tx.state(), queryParam(location, "state"), "state in the callback")
        let creds = try client.handleCallbackBlocking(transaction: tx, callbackUrl: location)
        try expectEq(3, jwtParts(creds.accessToken()), "access token")
        try expect(creds.tokenType().lowercased() == "bearer", "token type")
        try expect(creds.refreshToken() != nil, "refresh token")
        try expect(creds.remaining() > 86000 && creds.remaining() <= 86400, "remaining \(creds.remaining())")
        try expect(creds.isValidFor(minTtl: 3600), "valid for an hour")
        try expect(creds.hasScope(scope: "read:things write:things"), "scope \(String(describing: creds.scope()))")
        try expectEq("Bearer \(creds.accessToken())", creds.authorizationHeader(), "authorization header")
        // The ID token was verified; its claims are the user's.
        guard let id = creds.idTokenClaims() else { throw Failure(description: "no ID token claims") }
        try expectEq(Fx.userSub, id.sub(), "ID token sub")
        try expectEq(tx.nonce(), id.nonce(), "ID token nonce")
        try expectEq([Fx.publicClientId], id.aud(), "ID token aud")
        try expectEq(Fx.userEmail, id.getString(name: "email"), "email")
        let idv = client.idTokenVerifier()
        try expectEq(Fx.userSub, try idv.verifyIdTokenBlocking(token: creds.idToken()!, nonce: tx.nonce(), maxAge: 3600).sub(), "sub")
        try expectEq(TokenCheck.nonce, try rejected { try idv.verifyIdTokenBlocking(token: creds.idToken()!, nonce: "another-nonce") }, "wrong nonce")
        // The access token: openid + an API gives an aud array with /userinfo.
        let c = try v.verifyBlocking(token: creds.accessToken())
        try expectEq([Fx.api, Fx.issuer + "userinfo"], c.aud(), "aud array")
        try expectEq(Fx.userSub, c.sub(), "sub")
        try expectEq(Fx.publicClientId, c.azp(), "azp")
    }

    test("code flow: a transaction survives toJson/fromJson; a forged state is refused") {
        let client = try publicClient()
        let json = try client.authorize(params: AuthorizeParams(audience: Fx.api)).toJson()
        let restored = try LoginTransaction.fromJson(json: json)
        let location = try browse(restored.url())
        let forged = location.replacingOccurrences(of: "state=\(queryParam(location, "state")!)", with: "state=forged")
        try expect(forged != location, "forged callback")
        let before = try Admin.shared.count("grant:authorization_code")
        let e = try expectError { try client.handleCallbackBlocking(transaction: restored, callbackUrl: forged) }
        guard case let .InvalidResponse(_, detail) = e, detail.contains("state") else { throw Failure(description: "expected InvalidResponse (state), got \(e)") }
        try expectEq(before, try Admin.shared.count("grant:authorization_code"), "code exchanges")
        try expect(try client.handleCallbackBlocking(transaction: restored, callbackUrl: location).idToken() != nil, "id token")
        // A code is single use.
        let reused = try expectError { try client.handleCallbackBlocking(transaction: restored, callbackUrl: location) }
        guard case .OAuth = reused else { throw Failure(description: "expected OAuth, got \(reused)") }
        try expectConfig(try expectError { try LoginTransaction.fromJson(json: "{not a transaction") }, containing: "transaction")
        // An error sent back to the redirect URI is the server's OAuth error.
        let denied = "\(Fx.redirectUri)?error=access_denied&error_description=User%20cancelled&state=\(restored.state())"
        let e2 = try expectError { try client.handleCallbackBlocking(transaction: restored, callbackUrl: denied) }
        guard case let .OAuth(error, _, _) = e2 else { throw Failure(description: "expected OAuth, got \(e2)") }
        try expectEq("access_denied", error, "error")
    }

    test("code flow: a confidential client exchanges the code itself; refresh; organization") {
        let client = try webClient()
        let tx = try client.authorize(params: AuthorizeParams(audience: Fx.api, scope: userScope, organization: Fx.orgName))
        guard let code = queryParam(try browse(tx.url()), "code") else { throw Failure(description: "no code") }
        let creds = try client.exchangeCodeBlocking(transaction: tx, code: code)
        try expectEq(Fx.orgId, creds.idTokenClaims()?.orgId(), "org_id of the ID token")
        _ = try verifier(organization: Fx.orgId).verifyBlocking(token: creds.accessToken())
        // No rotation for this app: the refresh token stays, the answer has none.
        let renewed = try client.refreshBlocking(refreshToken: creds.refreshToken()!)
        try expect(renewed.accessToken() != creds.accessToken(), "a new access token")
        try expectEq(nil, renewed.refreshToken(), "refresh token of the answer")
        let narrowed = try client.refreshBlocking(refreshToken: creds.refreshToken()!, scope: "openid read:things")
        try expect(narrowed.hasScope(scope: "read:things") && !narrowed.hasScope(scope: "write:things"), "scope \(String(describing: narrowed.scope()))")
        try expectReauth(try expectError { try client.refreshBlocking(refreshToken: "not-a-refresh-token") }, "invalid_grant")
    }

    await testAsync("code flow: async forms (handleCallback, exchangeCode, refresh, userinfo)") {
        let client = try publicClient()
        let tx = try client.authorize(params: AuthorizeParams(audience: Fx.api, scope: userScope))
        let creds = try await client.handleCallback(transaction: tx, callbackUrl: try browse(tx.url()))
        let renewed = try await client.refresh(refreshToken: creds.refreshToken()!)
        try expect(renewed.refreshToken() != nil && renewed.refreshToken() != creds.refreshToken(), "rotated")
        try expectEq(Fx.userSub, try await client.userinfo(accessToken: renewed.accessToken()).sub(), "sub")
        let tx2 = try client.authorize(params: AuthorizeParams(audience: Fx.api))
        let code = queryParam(try browse(tx2.url()), "code")!
        try expect(try await client.exchangeCode(transaction: tx2, code: code).idToken() != nil, "id token")
        let e = try await expectErrorAsync { try await client.userinfo(accessToken: "bad-token") }
        guard case let .OAuth(_, _, status) = e else { throw Failure(description: "expected OAuth, got \(e)") }
        try expectEq(401, status, "status")
    }

    test("userinfo: opaque and JWT access tokens; a bad token is OAuth invalid_token 401") {
        let client = try publicClient()
        // No audience: an opaque access token, only good for /userinfo.
        let (_, opaque) = try signIn(client, audience: nil, scope: "openid profile email")
        try expect(jwtParts(opaque.accessToken()) != 3, "an opaque token")
        let u = try client.userinfoBlocking(accessToken: opaque.accessToken())
        try expectEq(Fx.userSub, u.sub(), "sub")
        try expectEq(Fx.userEmail, u.getString(name: "email"), "email")
        try expectEq("true", u.getJson(name: "email_verified"), "email_verified")
        let (_, jwt) = try signIn(client)
        try expectEq(Fx.userSub, try client.userinfoBlocking(accessToken: jwt.accessToken()).sub(), "sub")
        let e = try expectError { try client.userinfoBlocking(accessToken: "not-a-valid-token") }
        guard case let .OAuth(error, _, status) = e else { throw Failure(description: "expected OAuth, got \(e)") }
        try expectEq("invalid_token", error, "error")
        try expectEq(401, status, "status")
        let m2m = try shared.getTokenBlocking(request: TokenRequest(audience: Fx.api)).accessToken()
        let e2 = try expectError { try client.userinfoBlocking(accessToken: m2m) }
        guard case .OAuth = e2 else { throw Failure(description: "expected OAuth, got \(e2)") }
    }

    test("sign-in config errors") {
        try expectConfig(try expectError { try SignInClient(config: SignInConfig(domain: Fx.url, clientId: "", redirectUri: Fx.redirectUri)) }, containing: "client_id")
        try expectConfig(try expectError { try SignInClient(config: SignInConfig(domain: Fx.url, clientId: Fx.publicClientId, redirectUri: "not a url")) }, containing: "redirect_uri")
        let c = try publicClient()
        try expectConfig(try expectError { try c.authorize(params: AuthorizeParams(extra: ["state": "mine"])) }, containing: "state")
        let tx = try c.authorize(params: AuthorizeParams(extra: ["prompt": "login", "login_hint": Fx.userEmail]))
        try expectEq("login", queryParam(tx.url(), "prompt"), "extra parameter")
        try expectEq(nil, queryParam(try c.authorize().url(), "audience"), "no audience by default")
    }

    // MARK: the credentials manager with a Swift storage

    test("manager: stored credentials are served without a request; expired ones are renewed (rotation)") {
        let s = try SignedIn()
        let rt0 = s.first.refreshToken()!
        try expectEq(["save"], s.storage.calls, "storage calls after save()")
        try expect(try s.manager.hasCredentials(), "hasCredentials")
        let tokens0 = try Admin.shared.tokenRequests()
        for _ in 0..<3 {
            try expectEq(s.first.accessToken(), try s.manager.credentialsBlocking(minTtl: 60).accessToken(), "stored access token")
        }
        try expectEq(0, try Admin.shared.tokenRequests() - tokens0, "token requests")
        try expectEq(3, s.manager.stats().hits, "hits")
        // Expired in the storage: the next call renews through the refresh token.
        try s.storage.expire()
        let refreshes0 = try Admin.shared.count("grant:refresh_token")
        let renewed = try s.manager.credentialsBlocking(minTtl: 60)
        try expect(renewed.accessToken() != s.first.accessToken(), "a new access token")
        let rt1 = renewed.refreshToken()!
        try expect(rt1 != rt0, "the refresh token rotated")
        try expectEq(1, try Admin.shared.count("grant:refresh_token") - refreshes0, "refresh grants")
        // The rotated refresh token went to the Swift storage before the call returned.
        try expectEq(rt1, s.storage.savedRefreshTokens.last, "saved refresh token")
        try expectEq(renewed.accessToken(), try s.storage.peek()?.accessToken(), "stored access token")
        // renew() forces a renewal; the old refresh token is never sent again.
        let forced = try s.manager.renewBlocking()
        try expect(forced.accessToken() != renewed.accessToken(), "renew() gives a new token")
        try expect(forced.refreshToken() != rt1, "rotated again")
        try expectEq(0, try Admin.shared.count("refresh_reuse"), "rotated-out refresh tokens sent again")
        let st = s.manager.stats()
        try expectEq(2, st.renewals, "renewals")
        try expectEq(2, st.rotations, "rotations")
        try expectEq(forced.accessToken(), try s.manager.stored()?.accessToken(), "stored()")
    }

    test("manager: a minTtl longer than a token lives renews, then says so (Config)") {
        let s = try SignedIn()
        let refreshes0 = try Admin.shared.count("grant:refresh_token")
        try expectConfig(try expectError { try s.manager.credentialsBlocking(minTtl: 2 * 86400) }, containing: "min_ttl")
        try expectEq(1, try Admin.shared.count("grant:refresh_token") - refreshes0, "refresh grants")
        // The renewal was kept: the rotated token is in the storage.
        guard let stored = try s.storage.peek() else { throw Failure(description: "nothing stored") }
        try expect(stored.refreshToken() != s.first.refreshToken(), "the storage holds the rotated refresh token")
        try expectEq(stored.accessToken(), try s.manager.credentialsBlocking(minTtl: 60).accessToken(), "renewed credentials")
    }

    test("manager: 8 threads needing a renewal share one request") {
        let s = try SignedIn()
        try s.storage.expire()
        let before = try Admin.shared.count("grant:refresh_token")
        // A slow token endpoint, so the callers overlap; one renewal whatever the timing.
        try Admin.shared.fault(["delay_ms": 300])
        let lock = NSLock()
        nonisolated(unsafe) var got: [String] = []
        nonisolated(unsafe) var errors: [Error] = []
        let m = s.manager
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let t = try m.credentialsBlocking(minTtl: 60).accessToken()
                lock.withLock { got.append(t) }
            } catch {
                lock.withLock { errors.append(error) }
            }
        }
        try expect(errors.isEmpty, "errors: \(errors)")
        try expectEq(8, got.count, "results")
        try expectEq(1, Set(got).count, "distinct access tokens")
        try expectEq(1, try Admin.shared.count("grant:refresh_token") - before, "refresh grants")
        try expectEq(0, try Admin.shared.count("refresh_reuse"), "refresh tokens reused")
    }

    test("manager: two managers on one storage share one grant, both keep the rotated token") {
        let s = try SignedIn()
        let other = CredentialsManager(signIn: try publicClient(), storage: s.storage)
        try s.storage.expire()
        let before = try Admin.shared.count("grant:refresh_token")
        let reuse = try Admin.shared.count("refresh_reuse")
        try Admin.shared.fault(["delay_ms": 300])
        let lock = NSLock()
        nonisolated(unsafe) var got: [String] = []
        nonisolated(unsafe) var errors: [Error] = []
        let managers = [s.manager, other]
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                let t = try managers[i % 2].credentialsBlocking(minTtl: 60).accessToken()
                lock.withLock { got.append(t) }
            } catch {
                lock.withLock { errors.append(error) }
            }
        }
        try expect(errors.isEmpty, "errors: \(errors)")
        try expectEq(1, Set(got).count, "distinct access tokens")
        try expectEq(1, try Admin.shared.count("grant:refresh_token") - before, "refresh grants")
        try expectEq(reuse, try Admin.shared.count("refresh_reuse"), "refresh tokens reused")
        let rotated = try s.storage.peek()?.refreshToken()
        try expect(rotated != nil && rotated != s.first.refreshToken(), "rotated")
        for m in managers {
            try expectEq(rotated, try m.stored()?.refreshToken(), "a manager's refresh token")
        }
        // The family is alive: the next renewal works.
        try s.storage.expire()
        _ = try other.credentialsBlocking(minTtl: 60)
        try expectEq(reuse, try Admin.shared.count("refresh_reuse"), "refresh tokens reused")
    }

    test("manager: clear(revoke: true) revokes the refresh token and empties the storage") {
        let s = try SignedIn()
        let rt = s.first.refreshToken()!
        let revoked = try Admin.shared.count("revoked")
        try s.manager.clear(revoke: true)
        try expect(try s.storage.peek() == nil, "storage after clear(revoke)")
        try expectEq(1, try Admin.shared.count("revoked") - revoked, "revocations")
        try expectReauth(try expectError { try s.client.refreshBlocking(refreshToken: rt) }, "invalid_grant")
        // A failed revocation throws, the user signed out locally anyway.
        let (_, again) = try signIn(s.client)
        try s.manager.save(credentials: again)
        try Admin.shared.fault(["endpoint": "revoke", "status": 401, "body": #"{"error":"invalid_client"}"#])
        let failed = try expectError { try s.manager.clear(revoke: true) }
        guard case let .OAuth(error, _, _) = failed else { throw Failure(description: "expected OAuth, got \(failed)") }
        try expectEq("invalid_client", error, "revocation error")
        try expect(try s.storage.peek() == nil, "storage after a failed revocation")
    }

    await testAsync("manager: 16 concurrent tasks needing a renewal share one request (async)") {
        let s = try SignedIn()
        try s.storage.expire()
        let before = try Admin.shared.count("grant:refresh_token")
        try Admin.shared.fault(["delay_ms": 300])
        let m = s.manager
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 { group.addTask { try await m.credentials(minTtl: 60).accessToken() } }
            var all: [String] = []
            for try await t in group { all.append(t) }
            return all
        }
        try expectEq(16, tokens.count, "results")
        try expectEq(1, Set(tokens).count, "distinct access tokens")
        try expectEq(1, try Admin.shared.count("grant:refresh_token") - before, "refresh grants")
        try expect(try await m.renew().accessToken() != tokens[0], "renew (async)")
        try expectEq(2, try Admin.shared.count("grant:refresh_token") - before, "refresh grants")
    }

    await testAsync("manager: revoked refresh tokens mean ReauthenticationRequired, and are not sent again") {
        let s = try SignedIn()
        _ = try Admin.shared.send("POST", "/__admin/revoke_refresh_tokens", "{}")
        try s.storage.expire()
        let before = try Admin.shared.count("grant:refresh_token")
        try expectReauth(try expectError { try s.manager.credentialsBlocking(minTtl: 60) }, "invalid_grant")
        try expectReauth(try expectError { try s.manager.credentialsBlocking(minTtl: 60) })
        try expectReauth(try await expectErrorAsync { try await s.manager.renew() })
        try expectEq(1, try Admin.shared.count("grant:refresh_token") - before, "refresh grants (the refused token is not resent)")
        // Signing in again recovers.
        let (_, fresh) = try signIn(s.client)
        try s.manager.save(credentials: fresh)
        try expectEq(fresh.accessToken(), try s.manager.credentialsBlocking(minTtl: 60).accessToken(), "after signing in again")
    }

    test("manager: nothing stored, no refresh token, clear()") {
        let m = CredentialsManager(signIn: try publicClient(), storage: RecordingStorage())
        try expect(!(try m.hasCredentials()), "hasCredentials with nothing stored")
        try expect(try m.stored() == nil, "stored()")
        try expectReauth(try expectError { try m.credentialsBlocking(minTtl: 0) }, "no_credentials")
        let client = try publicClient(offlineAccess: false)
        let storage = RecordingStorage()
        let (_, creds) = try signIn(client)
        try expectEq(nil, creds.refreshToken(), "no offline_access, no refresh token")
        let m2 = CredentialsManager(signIn: client, storage: storage)
        try m2.save(credentials: creds)
        _ = try m2.credentialsBlocking(minTtl: 60)
        try storage.expire()
        try expect(!(try m2.hasCredentials()), "expired, no refresh token")
        try expectReauth(try expectError { try m2.credentialsBlocking(minTtl: 60) }, "no_refresh_token")
        try m2.clear()
        try expectEq("clear", storage.calls.last, "last storage call")
        try expect(try m2.stored() == nil, "stored() after clear()")
    }

    // MARK: secrets and lifetimes

    test("no token, code verifier or secret in description, debugDescription or errors") {
        var texts: [String] = []
        var hidden = secrets + [Fx.webClientSecret]
        let client = try webClient()
        texts += [client.description, client.debugDescription]
        let tx = try client.authorize(params: AuthorizeParams(audience: Fx.api, scope: userScope))
        let txJson = try JSONSerialization.jsonObject(with: Data(tx.toJson().utf8)) as? [String: Any]
        guard let codeVerifier = txJson?["code_verifier"] as? String else { throw Failure(description: "no verifier in toJson") }
        hidden.append(codeVerifier)
        texts += [tx.description, tx.debugDescription, String(describing: tx)]
        let location = try browse(tx.url())
        let creds = try client.handleCallbackBlocking(transaction: tx, callbackUrl: location)
        hidden += [creds.accessToken(), creds.refreshToken()!, creds.idToken()!, String(creds.accessToken().split(separator: ".")[2])]
        texts += [creds.description, creds.debugDescription, String(describing: creds), String(reflecting: creds)]
        try expect(creds.description.contains("redacted"), "description: \(creds)")
        let reused = try expectError { try client.handleCallbackBlocking(transaction: tx, callbackUrl: location) }
        texts += [String(describing: reused), reused.localizedDescription]
        let cfg = SignInConfig(domain: Fx.url, clientId: Fx.webClientId, redirectUri: Fx.redirectUri,
                               credentials: Credentials.clientSecret(secret: Fx.webClientSecret))
        texts += [String(describing: cfg), String(reflecting: cfg)]
        let claims = try v.verifyBlocking(token: creds.accessToken())
        texts += [claims.description, claims.debugDescription]
        let m = CredentialsManager(signIn: client, storage: RecordingStorage())
        try m.save(credentials: creds)
        texts += [m.description, m.debugDescription, v.description]
        let e = try expectError { try client.refreshBlocking(refreshToken: "x" + creds.refreshToken()!) }
        texts += [String(describing: e), e.localizedDescription]
        for t in texts {
            for h in hidden {
                try expect(!t.contains(h), "a secret appears in: \(t)")
            }
            try expect(!t.contains(Fx.userEmail), "personal data in: \(t)")
        }
    }

    test("objects are released (deinit), and a manager releases its Swift storage") {
        let start = liveObjects()
        for _ in 0..<10 {
            let client = try publicClient()
            let (_, creds) = try signIn(client)
            _ = try v.verifyBlocking(token: creds.accessToken())
        }
        try expectEq(start, liveObjects(), "live objects")
        try expect(try managerReleasingStorage() == nil, "the storage is still referenced after the manager was released")
        try expectEq(start, liveObjects(), "live objects")
    }
}
