// Kotlin tests of validation, user sign-in (authorization code + PKCE), the credentials manager
// with a storage written in Kotlin, and /userinfo — against the local issuer over real HTTP.
// A failing storage is scenario S1, in ScenarioTest.kt.
// Called from main() in TokenKeeperTest.kt (same harness and counters).

import java.lang.ref.WeakReference
import java.net.HttpURLConnection
import java.net.URI
import java.net.URLDecoder
import java.time.Duration
import java.time.Instant
import java.util.Base64
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import tokenkeeper.AuthorizeParams
import tokenkeeper.Credentials
import tokenkeeper.CredentialsManager
import tokenkeeper.CredentialsStore
import tokenkeeper.LoginTransaction
import tokenkeeper.SignInClient
import tokenkeeper.SignInConfig
import tokenkeeper.SigningAlg
import tokenkeeper.TokenCheck
import tokenkeeper.TokenClient
import tokenkeeper.TokenException
import tokenkeeper.TokenRequest
import tokenkeeper.TokenVerifier
import tokenkeeper.UserCredentials
import tokenkeeper.VerifierConfig
import tokenkeeper.liveObjects
import tokenkeeper.use

// ---------------------------------------------------------------------------------------------
// Helpers

fun verifier(
    audience: String = Fx.API,
    organization: String? = null,
    algorithms: List<SigningAlg>? = null,
    leeway: Duration? = null,
): TokenVerifier = TokenVerifier(
    VerifierConfig(domain = Fx.url, audience = audience, organization = organization, algorithms = algorithms, leeway = leeway),
)

fun now(): Long = Instant.now().epochSecond

/** A token signed by the issuer's active key: `claims` and extra `header` members are JSON objects. */
fun signed(claims: String, header: String? = null): String {
    val body = if (header == null) """{"claims":$claims}""" else """{"claims":$claims,"header":$header}"""
    val reply = Admin.send("POST", "/__admin/sign", body)
    return Regex("\"token\"\\s*:\\s*\"([^\"]+)\"").find(reply)?.groupValues?.get(1) ?: error("sign: $reply")
}

fun b64url(s: String): String = Base64.getUrlEncoder().withoutPadding().encodeToString(s.toByteArray())

/** The failed check of a rejected token. */
fun rejected(block: () -> Unit): TokenCheck = expectThrows<TokenException.InvalidToken> { block() }.check

fun publicClient(audience: String? = null, offlineAccess: Boolean? = null): SignInClient =
    SignInConfig(domain = Fx.url, clientId = Fx.publicClientId, redirectUri = Fx.redirectUri, audience = audience, offlineAccess = offlineAccess)
        .use { SignInClient(it) }

fun webClient(): SignInClient =
    SignInConfig(
        domain = Fx.url, clientId = Fx.webClientId, redirectUri = Fx.redirectUri,
        credentials = Credentials.clientSecret(Fx.webClientSecret),
    ).use { SignInClient(it) }

/** What a browser does with the /authorize URL, without following the redirect: its Location. */
fun browse(url: String): String {
    val conn = URI.create(url).toURL().openConnection() as HttpURLConnection
    conn.instanceFollowRedirects = false
    conn.connectTimeout = 5_000
    conn.readTimeout = 10_000
    try {
        val status = conn.responseCode
        check(status == 302) { "GET /authorize: HTTP $status" }
        return conn.getHeaderField("Location") ?: error("GET /authorize: no Location header")
    } finally {
        conn.disconnect()
    }
}

fun queryParam(url: String, name: String): String? =
    URI.create(url).rawQuery?.split('&')?.map { it.split('=', limit = 2) }
        ?.firstOrNull { it[0] == name }?.getOrNull(1)?.let { URLDecoder.decode(it, "UTF-8") }

/** The scopes of a user sign-in to the fixture API. */
const val USER_SCOPE = "openid profile email read:things write:things"

/** Signs the fixture user in through the test-mode /authorize: (transaction, credentials). */
fun signIn(client: SignInClient, audience: String? = Fx.API, scope: String = USER_SCOPE): Pair<LoginTransaction, UserCredentials> {
    val tx = client.authorize(AuthorizeParams(audience = audience, scope = scope))
    return tx to client.handleCallbackBlocking(tx, browse(tx.url()))
}

/**
 * A storage as an app writes one, in Kotlin: keeps one JSON blob (as a Keychain item or an
 * encrypted preference would), records every call, and can be told to fail.
 */
class RecordingStorage : CredentialsStore {
    private val lock = Any()
    private var blob: String? = null
    val calls = ConcurrentLinkedQueue<String>()
    /** The refresh token of every save, in order. */
    val savedRefreshTokens = ConcurrentLinkedQueue<String>()
    @Volatile var failLoad: Exception? = null
    @Volatile var failSave: Exception? = null

    override fun load(): UserCredentials? {
        calls.add("load")
        failLoad?.let { throw it }
        return synchronized(lock) { blob }?.let { UserCredentials.fromJson(it) }
    }

    override fun save(credentials: UserCredentials) {
        calls.add("save")
        failSave?.let { throw it }
        credentials.use { c ->
            synchronized(lock) { blob = c.toJson() }
            savedRefreshTokens.add(c.refreshToken() ?: "")
        }
    }

    override fun clear() {
        calls.add("clear")
        synchronized(lock) { blob = null }
    }

    fun count(call: String) = calls.count { it == call }

    /** What is stored now, read directly (not through the manager). */
    fun peek(): UserCredentials? = synchronized(lock) { blob }?.let { UserCredentials.fromJson(it) }

    /** Makes the stored access token look expired, as after the app slept for a day. */
    fun expire() = synchronized(lock) {
        val c = UserCredentials.fromJson(blob ?: error("nothing stored"))
        c.use {
            UserCredentials(it.accessToken(), it.tokenType(), Instant.now().minusSeconds(10), it.scope(), it.refreshToken(), it.idToken())
                .use { e -> blob = e.toJson() }
        }
    }
}

/** A signed-in user's manager over a fresh RecordingStorage, with the sign-in credentials saved. */
class SignedIn(audience: String = Fx.API) : AutoCloseable {
    val client = publicClient()
    val storage = RecordingStorage()
    val first: UserCredentials = signIn(client, audience).second
    val manager = CredentialsManager(client, storage)

    init {
        manager.save(first)
    }

    override fun close() {
        manager.close(); client.close(); first.close()
    }
}

// ---------------------------------------------------------------------------------------------

fun signInTests(shared: TokenClient, secrets: List<String>) {
    val v = verifier()

    // --- verification ---------------------------------------------------------------------

    test("verify: a client-credentials access token gives its claims") {
        val token = shared.getTokenBlocking(TokenRequest(Fx.API, scope = "read:things")).use { it.accessToken() }
        val before = v.stats()
        v.verifyBlocking(token).use { c ->
            expectEq(Fx.issuer, c.iss(), "iss")
            expectEq(listOf(Fx.API), c.aud(), "aud")
            expectEq("${Fx.clientId}@clients", c.sub(), "sub")
            expectEq(Fx.clientId, c.azp(), "azp")
            expectEq("read:things", c.scope(), "scope")
            expect(c.hasScope("read:things") && !c.hasScope("write:things")) { "hasScope" }
            val exp = c.exp() ?: error("no exp")
            expect(Duration.between(Instant.now(), exp).seconds in 86000..86400) { "exp $exp" }
            expect(c.iat() != null && c.nbf() == null && c.orgId() == null && c.nonce() == null) { "iat, nbf, org_id, nonce: $c" }
            expect(c.toJson().contains("\"iss\":\"${Fx.issuer}\"")) { "toJson: ${c.toJson()}" }
            expect("gty" in c.names()) { "names: ${c.names()}" }
            expectEq("\"client-credentials\"", c.getJson("gty"), "getJson")
            expectEq("client-credentials", c.getString("gty"), "getString")
            expectEq(null, c.getString("nope"), "absent claim")
        }
        val after = v.stats()
        expectEq(1uL, after.verified - before.verified, "verified")
        expectEq(Fx.url + "/.well-known/jwks.json", v.jwksUrl(), "jwks url")
        expectEq(listOf(Fx.issuer), v.issuers(), "issuers")
    }

    test("verify: bad tokens are rejected with the check that failed") {
        val good = shared.getTokenBlocking(TokenRequest(Fx.API)).use { it.accessToken() }
        val (h, p, s) = good.split('.')
        val rejected0 = v.stats().rejected
        val t = now()
        val expired = signed("""{"iss":"${Fx.issuer}","aud":"${Fx.API}","sub":"x","iat":${t - 7200},"exp":${t - 3600}}""")
        expectEq(TokenCheck.EXPIRED, rejected { v.verifyBlocking(expired) }, "expired")
        verifier(audience = "https://other.example.com").use { other ->
            expectEq(TokenCheck.AUDIENCE, rejected { other.verifyBlocking(good) }, "wrong audience")
        }
        val otherPayload = expired.split('.')[1]
        expectEq(TokenCheck.SIGNATURE, rejected { v.verifyBlocking("$h.$otherPayload.$s") }, "tampered payload")
        val flipped = s.substring(0, 10) + (if (s[10] == 'A') 'B' else 'A') + s.substring(11)
        expectEq(TokenCheck.SIGNATURE, rejected { v.verifyBlocking("$h.$p.$flipped") }, "tampered signature")
        expectEq(TokenCheck.MALFORMED, rejected { v.verifyBlocking("abc") }, "malformed")
        val none = b64url("""{"alg":"none","typ":"JWT"}""") + "." + p + "."
        expectEq(TokenCheck.ALGORITHM, rejected { v.verifyBlocking(none) }, "alg none")
        val unknownKid = signed("""{"iss":"${Fx.issuer}","aud":"${Fx.API}","sub":"x","exp":${t + 600}}""", """{"kid":"nope"}""")
        expectEq(TokenCheck.UNKNOWN_KEY, rejected { v.verifyBlocking(unknownKid) }, "unknown kid")
        val wrongIssuer = signed("""{"iss":"https://evil.example.com/","aud":"${Fx.API}","sub":"x","exp":${t + 600}}""")
        expectEq(TokenCheck.ISSUER, rejected { v.verifyBlocking(wrongIssuer) }, "wrong issuer")
        verifier(algorithms = listOf(SigningAlg.ES256)).use { es ->
            expectEq(TokenCheck.ALGORITHM, rejected { es.verifyBlocking(good) }, "RS256 refused by an ES256-only verifier")
        }
        // The message names the check too.
        val e = expectThrows<TokenException.InvalidToken> { v.verifyBlocking(expired) }
        expect(e.message.startsWith("check=EXPIRED, detail=the token expired")) { "message: ${e.message}" }
        expectEq(8uL, v.stats().rejected - rejected0, "rejections counted by the verifier")
    }

    test("verify: an organization-bound verifier accepts org_id and refuses others") {
        val orgToken = shared.getTokenBlocking(TokenRequest(Fx.API, organization = Fx.orgName)).use { it.accessToken() }
        verifier(organization = Fx.orgId).use { ov ->
            ov.verifyBlocking(orgToken).use { c ->
                expectEq(Fx.orgId, c.orgId(), "org_id")
                expectEq(Fx.orgName, c.orgName(), "org_name")
            }
            val plain = shared.getTokenBlocking(TokenRequest(Fx.API)).use { it.accessToken() }
            expectEq(TokenCheck.MISSING_CLAIM, rejected { ov.verifyBlocking(plain) }, "token without an organization")
        }
        verifier(organization = "org_someoneelse0000").use { ov ->
            expectEq(TokenCheck.ORGANIZATION, rejected { ov.verifyBlocking(orgToken) }, "another organization")
        }
        verifier(organization = Fx.orgName).use { byName -> byName.verifyBlocking(orgToken).close() }
    }

    test("verify: an organization named after another organization's id does not pass that id (N1)") {
        val victim = "org_9ybsU1dN2dKfDkBi"
        val t = now()
        fun org(members: String) = signed("""{"iss":"${Fx.issuer}","aud":"${Fx.API}","sub":"x","exp":${t + 600},$members}""")
        val attacker = org(""""org_id":"org_ATTACKERattackr","org_name":"${victim.lowercase()}"""")
        verifier(organization = victim).use { byId ->
            expectEq(TokenCheck.ORGANIZATION, rejected { byId.verifyBlocking(attacker) }, "another org named after the id")
            expectEq(TokenCheck.MISSING_CLAIM, rejected { byId.verifyBlocking(org(""""org_name":"$victim"""")) }, "a name only")
            byId.verifyBlocking(org(""""org_id":"$victim"""")).close()
        }
        TokenVerifier(VerifierConfig(domain = Fx.url, audience = Fx.API, organizationName = "org_Odd-Name")).use { odd ->
            odd.verifyBlocking(org(""""org_name":"org_odd-name"""")).close()
            expectEq(TokenCheck.MISSING_CLAIM, rejected { odd.verifyBlocking(org(""""org_id":"org_Odd-Name"""")) }, "a name never matches org_id")
        }
    }

    test("deprecated …Async aliases answer as the suspend calls they name (kept one release)") {
        val reuse0 = Admin.count("refresh_reuse")
        publicClient(audience = Fx.API).use { client ->
            runBlocking {
                withTimeout(30_000) {
                    @Suppress("DEPRECATION")
                    run {
                        val tx = client.authorize(AuthorizeParams(scope = USER_SCOPE))
                        val creds = client.handleCallbackAsync(tx, browse(tx.url()))
                        client.idTokenVerifier().use { idv ->
                            idv.verifyIdTokenAsync(creds.idToken()!!, tx.nonce()).use { expectEq(Fx.userSub, it.sub(), "verifyIdTokenAsync") }
                        }
                        client.userinfoAsync(creds.accessToken()).use { expectEq(Fx.userSub, it.sub(), "userinfoAsync") }
                        val tx2 = client.authorize(AuthorizeParams(scope = USER_SCOPE))
                        val code = queryParam(browse(tx2.url()), "code")!!
                        client.exchangeCodeAsync(tx2, code).use { expect(it.accessToken().isNotEmpty()) { "exchangeCodeAsync" } }
                        val renewed = client.refreshAsync(creds.refreshToken()!!)
                        expect(renewed.refreshToken() != creds.refreshToken()) { "refreshAsync rotated" }
                        CredentialsManager(client, RecordingStorage()).use { m ->
                            m.save(renewed)
                            m.credentialsAsync(Duration.ofMinutes(1)).use { expectEq(renewed.accessToken(), it.accessToken(), "credentialsAsync") }
                            m.renewAsync().use { expect(it.accessToken() != renewed.accessToken()) { "renewAsync" } }
                        }
                        tx.close(); tx2.close(); creds.close(); renewed.close()
                    }
                }
            }
        }
        expectEq(0L, Admin.count("refresh_reuse") - reuse0, "rotated-out refresh tokens sent again")
    }

    test("verify: suspend verify (and the deprecated verifyAsync), and config errors") {
        val token = shared.getTokenBlocking(TokenRequest(Fx.API)).use { it.accessToken() }
        runBlocking {
            withTimeout(20_000) {
                v.verify(token).use { expectEq(Fx.issuer, it.iss(), "iss") }
                @Suppress("DEPRECATION")
                v.verifyAsync(token).use { expectEq(Fx.issuer, it.iss(), "iss (deprecated verifyAsync)") }
                val e = expectThrows<TokenException.InvalidToken> { runBlocking { v.verify("abc") } }
                expectEq(TokenCheck.MALFORMED, e.check, "check")
                // 16 coroutines on one verifier.
                val subs = (1..16).map { async(Dispatchers.Default) { v.verify(token).use { it.sub() } } }.awaitAll()
                expectEq(setOf("${Fx.clientId}@clients"), subs.toSet(), "subs")
            }
        }
        expectThrows<TokenException.Config> { verifier(audience = " ") }
        expectThrows<TokenException.Config> { verifier(leeway = Duration.ofHours(1)) }
        expectThrows<TokenException.Config> { verifier(algorithms = listOf()) }
        expectThrows<TokenException.Config> { TokenVerifier(VerifierConfig(domain = "http://example.com", audience = Fx.API)) }
    }

    // --- sign-in: authorization code + PKCE -----------------------------------------------

    test("code flow: authorize, GET /authorize (no redirect followed), handleCallback") {
        publicClient().use { client ->
            client.authorize(AuthorizeParams(audience = Fx.API, scope = USER_SCOPE)).use { tx ->
                val url = tx.url()
                expect(url.startsWith(Fx.url + "/authorize?")) { "url $url" }
                expectEq("code", queryParam(url, "response_type"), "response_type")
                expectEq(Fx.publicClientId, queryParam(url, "client_id"), "client_id")
                expectEq(Fx.API, queryParam(url, "audience"), "audience")
                expectEq(tx.state(), queryParam(url, "state"), "state")
                expectEq(tx.nonce(), queryParam(url, "nonce"), "nonce")
                expectEq("S256", queryParam(url, "code_challenge_method"), "code_challenge_method")
                expectEq("$USER_SCOPE offline_access", tx.scope(), "scope")
                expectEq(Fx.redirectUri, tx.redirectUri(), "redirect uri")
                val location = browse(url)
                expect(location.startsWith(Fx.redirectUri + "?")) { "Location $location" }
                expectEq(tx.state(), queryParam(location, "state"), "state in the callback")
                client.handleCallbackBlocking(tx, location).use { creds ->
                    expectEq(3, jwtParts(creds.accessToken()), "access token")
                    expect(creds.tokenType().equals("bearer", ignoreCase = true)) { "token type" }
                    expect(creds.refreshToken() != null) { "refresh token" }
                    expect(creds.remaining().seconds in 86000..86400) { "remaining ${creds.remaining()}" }
                    expect(creds.isValidFor(Duration.ofHours(1))) { "valid for an hour" }
                    expect(creds.hasScope("read:things write:things")) { "scope ${creds.scope()}" }
                    expectEq("Bearer ${creds.accessToken()}", creds.authorizationHeader(), "authorization header")
                    // The ID token was verified; its claims are the user's.
                    creds.idTokenClaims()!!.use { id ->
                        expectEq(Fx.userSub, id.sub(), "ID token sub")
                        expectEq(tx.nonce(), id.nonce(), "ID token nonce")
                        expectEq(listOf(Fx.publicClientId), id.aud(), "ID token aud")
                        expectEq(Fx.userEmail, id.getString("email"), "email")
                    }
                    client.idTokenVerifier().use { idv ->
                        idv.verifyIdTokenBlocking(creds.idToken()!!, nonce = tx.nonce(), maxAge = Duration.ofHours(1)).use { expectEq(Fx.userSub, it.sub(), "sub") }
                        expectEq(TokenCheck.NONCE, rejected { idv.verifyIdTokenBlocking(creds.idToken()!!, nonce = "another-nonce") }, "wrong nonce")
                    }
                    // The access token: openid + an API gives an aud array with /userinfo.
                    v.verifyBlocking(creds.accessToken()).use { c ->
                        expectEq(listOf(Fx.API, Fx.issuer + "userinfo"), c.aud(), "aud array")
                        expectEq(Fx.userSub, c.sub(), "sub")
                        expectEq(Fx.publicClientId, c.azp(), "azp")
                    }
                }
            }
        }
    }

    test("code flow: a transaction survives toJson/fromJson; a forged state is refused") {
        publicClient().use { client ->
            val tx = client.authorize(AuthorizeParams(audience = Fx.API))
            val json = tx.toJson()
            val location = browse(tx.url())
            tx.close()
            // A forged callback (another state) is refused before any request.
            val forged = location.replace(Regex("state=[^&]+"), "state=forged")
            LoginTransaction.fromJson(json).use { restored ->
                val before = Admin.count("grant:authorization_code")
                val e = expectThrows<TokenException.InvalidResponse> { client.handleCallbackBlocking(restored, forged) }
                expect(e.detail.contains("state")) { "detail ${e.detail}" }
                expectEq(before, Admin.count("grant:authorization_code"), "code exchanges")
                client.handleCallbackBlocking(restored, location).use { expect(it.idToken() != null) { "id token" } }
                // A code is single use.
                expectThrows<TokenException.OAuth> { client.handleCallbackBlocking(restored, location) }
            }
            expectThrows<TokenException.Config> { LoginTransaction.fromJson("{not a transaction") }
            // An error sent back to the redirect URI is the server's OAuth error.
            LoginTransaction.fromJson(json).use { restored ->
                val denied = "${Fx.redirectUri}?error=access_denied&error_description=User%20cancelled&state=${restored.state()}"
                val e = expectThrows<TokenException.OAuth> { client.handleCallbackBlocking(restored, denied) }
                expectEq("access_denied", e.error, "error")
            }
        }
    }

    test("code flow: a confidential client exchanges the code itself; refresh; organization") {
        webClient().use { client ->
            val tx = client.authorize(AuthorizeParams(audience = Fx.API, scope = USER_SCOPE, organization = Fx.orgName))
            val code = queryParam(browse(tx.url()), "code") ?: error("no code")
            val creds = client.exchangeCodeBlocking(tx, code)
            creds.idTokenClaims()!!.use { expectEq(Fx.orgId, it.orgId(), "org_id of the ID token") }
            verifier(organization = Fx.orgId).use { ov -> ov.verifyBlocking(creds.accessToken()).close() }
            // No rotation for this app: the refresh token stays, the answer has none.
            val renewed = client.refreshBlocking(creds.refreshToken()!!)
            expect(renewed.accessToken() != creds.accessToken()) { "a new access token" }
            expectEq(null, renewed.refreshToken(), "refresh token of the answer")
            val narrowed = client.refreshBlocking(creds.refreshToken()!!, scope = "openid read:things")
            expect(narrowed.hasScope("read:things") && !narrowed.hasScope("write:things")) { "scope ${narrowed.scope()}" }
            val e = expectThrows<TokenException.ReauthenticationRequired> { client.refreshBlocking("not-a-refresh-token") }
            expectEq("invalid_grant", e.error, "error")
            tx.close(); creds.close(); renewed.close(); narrowed.close()
        }
    }

    test("code flow: suspend forms (handleCallback, exchangeCode, refresh, userinfo)") {
        publicClient().use { client ->
            runBlocking {
                withTimeout(30_000) {
                    val tx = client.authorize(AuthorizeParams(audience = Fx.API, scope = USER_SCOPE))
                    val creds = client.handleCallback(tx, browse(tx.url()))
                    val renewed = client.refresh(creds.refreshToken()!!)
                    expect(renewed.refreshToken() != null && renewed.refreshToken() != creds.refreshToken()) { "rotated" }
                    client.userinfo(renewed.accessToken()).use { expectEq(Fx.userSub, it.sub(), "sub") }
                    val tx2 = client.authorize(AuthorizeParams(audience = Fx.API))
                    val code = queryParam(browse(tx2.url()), "code")!!
                    client.exchangeCode(tx2, code).use { expect(it.idToken() != null) { "id token" } }
                    val e = expectThrows<TokenException.OAuth> { runBlocking { client.userinfo("bad-token") } }
                    expectEq(401.toUShort(), e.status, "status")
                    tx.close(); tx2.close(); creds.close(); renewed.close()
                }
            }
        }
    }

    test("userinfo: opaque and JWT access tokens; a bad token is OAuth invalid_token 401") {
        publicClient().use { client ->
            // No audience: an opaque access token, only good for /userinfo.
            val (tx, opaque) = signIn(client, audience = null, scope = "openid profile email")
            expect(jwtParts(opaque.accessToken()) != 3) { "an opaque token" }
            client.userinfoBlocking(opaque.accessToken()).use { u ->
                expectEq(Fx.userSub, u.sub(), "sub")
                expectEq(Fx.userEmail, u.getString("email"), "email")
                expectEq("true", u.getJson("email_verified"), "email_verified")
            }
            val (tx2, jwt) = signIn(client)
            client.userinfoBlocking(jwt.accessToken()).use { expectEq(Fx.userSub, it.sub(), "sub") }
            val e = expectThrows<TokenException.OAuth> { client.userinfoBlocking("not-a-valid-token") }
            expectEq("invalid_token", e.error, "error")
            expectEq(401.toUShort(), e.status, "status")
            // A client-credentials token is no user's.
            val m2m = shared.getTokenBlocking(TokenRequest(Fx.API)).use { it.accessToken() }
            expectThrows<TokenException.OAuth> { client.userinfoBlocking(m2m) }
            tx.close(); opaque.close(); tx2.close(); jwt.close()
        }
    }

    test("sign-in config errors") {
        expectThrows<TokenException.Config> {
            SignInConfig(domain = Fx.url, clientId = "", redirectUri = Fx.redirectUri).use { SignInClient(it) }
        }
        expectThrows<TokenException.Config> {
            SignInConfig(domain = Fx.url, clientId = Fx.publicClientId, redirectUri = "not a url").use { SignInClient(it) }
        }
        publicClient().use { c ->
            expectThrows<TokenException.Config> { c.authorize(AuthorizeParams(extra = mapOf("state" to "mine"))) }
            c.authorize(AuthorizeParams(extra = mapOf("prompt" to "login", "login_hint" to Fx.userEmail))).use { tx ->
                expectEq("login", queryParam(tx.url(), "prompt"), "extra parameter")
            }
            c.authorize().use { tx -> expectEq(null, queryParam(tx.url(), "audience"), "no audience by default") }
        }
    }

    // --- the credentials manager with a Kotlin storage ------------------------------------

    test("manager: stored credentials are served without a request; expired ones are renewed (rotation)") {
        SignedIn().use { s ->
            val rt0 = s.first.refreshToken()!!
            expectEq(listOf("save"), s.storage.calls.toList(), "storage calls after save()")
            expect(s.manager.hasCredentials()) { "hasCredentials" }
            val tokens0 = Admin.tokenRequests()
            repeat(3) {
                s.manager.credentialsBlocking(Duration.ofMinutes(1)).use { expectEq(s.first.accessToken(), it.accessToken(), "stored access token") }
            }
            expectEq(0L, Admin.tokenRequests() - tokens0, "token requests")
            expectEq(3uL, s.manager.stats().hits, "hits")
            // Expired in the storage: the next call renews through the refresh token.
            s.storage.expire()
            val refreshes0 = Admin.count("grant:refresh_token")
            val renewed = s.manager.credentialsBlocking(Duration.ofMinutes(1))
            expect(renewed.accessToken() != s.first.accessToken()) { "a new access token" }
            val rt1 = renewed.refreshToken()!!
            expect(rt1 != rt0) { "the refresh token rotated" }
            expectEq(1L, Admin.count("grant:refresh_token") - refreshes0, "refresh grants")
            // The rotated refresh token went to the Kotlin storage before the call returned.
            expectEq(rt1, s.storage.savedRefreshTokens.last(), "saved refresh token")
            s.storage.peek()!!.use { expectEq(renewed.accessToken(), it.accessToken(), "stored access token") }
            // renew() forces a renewal; the old refresh token is never sent again.
            val forced = s.manager.renewBlocking()
            expect(forced.accessToken() != renewed.accessToken()) { "renew() gives a new token" }
            expect(forced.refreshToken() != rt1) { "rotated again" }
            expectEq(0L, Admin.count("refresh_reuse"), "rotated-out refresh tokens sent again")
            val st = s.manager.stats()
            expectEq(2uL, st.renewals, "renewals")
            expectEq(2uL, st.rotations, "rotations")
            s.manager.stored()!!.use { expectEq(forced.accessToken(), it.accessToken(), "stored()") }
            renewed.close(); forced.close()
        }
    }

    test("manager: a minTtl longer than a token lives renews, then says so (Config)") {
        SignedIn().use { s ->
            val refreshes0 = Admin.count("grant:refresh_token")
            val e = expectThrows<TokenException.Config> { s.manager.credentialsBlocking(Duration.ofDays(2)) }
            expect(e.detail.contains("min_ttl")) { "detail ${e.detail}" }
            expectEq(1L, Admin.count("grant:refresh_token") - refreshes0, "refresh grants")
            // The renewal was kept: the rotated token is in the storage.
            val stored = s.storage.peek()!!
            expect(stored.refreshToken() != s.first.refreshToken()) { "the storage holds the rotated refresh token" }
            s.manager.credentialsBlocking(Duration.ofMinutes(1)).use { expectEq(stored.accessToken(), it.accessToken(), "renewed credentials") }
            stored.close()
        }
    }

    test("manager: 8 threads needing a renewal share one request") {
        SignedIn().use { s ->
            s.storage.expire()
            val before = Admin.count("grant:refresh_token")
            // A slow token endpoint, so the callers overlap; one renewal whatever the timing.
            Admin.fault("""{"endpoint":"token","delay_ms":300}""")
            val n = 8
            val barrier = CyclicBarrier(n)
            val done = CountDownLatch(n)
            val got = ConcurrentLinkedQueue<String>()
            val errors = ConcurrentLinkedQueue<Throwable>()
            repeat(n) {
                Thread {
                    try {
                        barrier.await(10, TimeUnit.SECONDS)
                        s.manager.credentialsBlocking(Duration.ofMinutes(1)).use { got.add(it.accessToken()) }
                    } catch (t: Throwable) {
                        errors.add(t)
                    } finally {
                        done.countDown()
                    }
                }.apply { isDaemon = true; start() }
            }
            expect(done.await(30, TimeUnit.SECONDS)) { "threads did not finish" }
            expect(errors.isEmpty()) { "errors: $errors" }
            expectEq(n, got.size, "results")
            expectEq(1, got.toSet().size, "distinct access tokens")
            expectEq(1L, Admin.count("grant:refresh_token") - before, "refresh grants")
            expectEq(0L, Admin.count("refresh_reuse"), "refresh tokens reused")
        }
    }

    test("manager: two managers on one storage share one grant, both keep the rotated token") {
        SignedIn().use { s ->
            publicClient().use { otherClient ->
                CredentialsManager(otherClient, s.storage).use { other ->
                    s.storage.expire()
                    val before = Admin.count("grant:refresh_token")
                    val reuse = Admin.count("refresh_reuse")
                    Admin.fault("""{"endpoint":"token","delay_ms":300}""")
                    val n = 8
                    val barrier = CyclicBarrier(n)
                    val done = CountDownLatch(n)
                    val got = ConcurrentLinkedQueue<String>()
                    val errors = ConcurrentLinkedQueue<Throwable>()
                    repeat(n) { i ->
                        val m = if (i % 2 == 0) s.manager else other
                        Thread {
                            try {
                                barrier.await(10, TimeUnit.SECONDS)
                                m.credentialsBlocking(Duration.ofMinutes(1)).use { got.add(it.accessToken()) }
                            } catch (t: Throwable) {
                                errors.add(t)
                            } finally {
                                done.countDown()
                            }
                        }.apply { isDaemon = true; start() }
                    }
                    expect(done.await(30, TimeUnit.SECONDS)) { "threads did not finish" }
                    expect(errors.isEmpty()) { "errors: $errors" }
                    expectEq(1, got.toSet().size, "distinct access tokens")
                    expectEq(1L, Admin.count("grant:refresh_token") - before, "refresh grants")
                    expectEq(reuse, Admin.count("refresh_reuse"), "refresh tokens reused")
                    val rotated = s.storage.peek()!!.use { it.refreshToken() }
                    expect(rotated != s.first.refreshToken()) { "rotated" }
                    for (m in listOf(s.manager, other)) {
                        m.stored()!!.use { expectEq(rotated, it.refreshToken(), "a manager's refresh token") }
                    }
                    // The family is alive: the next renewal works.
                    s.storage.expire()
                    other.credentialsBlocking(Duration.ofMinutes(1)).close()
                    expectEq(reuse, Admin.count("refresh_reuse"), "refresh tokens reused")
                }
            }
        }
    }

    test("manager: clear(revoke = true) revokes the refresh token and empties the storage") {
        SignedIn().use { s ->
            val rt = s.first.refreshToken()!!
            val revoked = Admin.count("revoked")
            s.manager.clear(revoke = true)
            expectEq(null, s.storage.peek(), "storage after clear(revoke)")
            expectEq(1L, Admin.count("revoked") - revoked, "revocations")
            val e = expectThrows<TokenException.ReauthenticationRequired> { s.client.refreshBlocking(rt) }
            expectEq("invalid_grant", e.error, "refresh with the revoked token")
            // A failed revocation throws, the user signed out locally anyway.
            val (tx, again) = signIn(s.client)
            s.manager.save(again)
            Admin.fault("""{"endpoint":"revoke","status":401,"body":"{\"error\":\"invalid_client\"}"}""")
            val failed = expectThrows<TokenException.OAuth> { s.manager.clear(revoke = true) }
            expectEq("invalid_client", failed.error, "revocation error")
            expectEq(null, s.storage.peek(), "storage after a failed revocation")
            tx.close(); again.close()
        }
    }

    test("manager: 16 coroutines needing a renewal share one request (suspend)") {
        SignedIn().use { s ->
            s.storage.expire()
            val before = Admin.count("grant:refresh_token")
            Admin.fault("""{"endpoint":"token","delay_ms":300}""")
            val tokens = runBlocking {
                withTimeout(30_000) {
                    (1..16).map { async(Dispatchers.Default) { s.manager.credentials(Duration.ofMinutes(1)).use { it.accessToken() } } }.awaitAll()
                }
            }
            expectEq(1, tokens.toSet().size, "distinct access tokens")
            expectEq(1L, Admin.count("grant:refresh_token") - before, "refresh grants")
            runBlocking { withTimeout(20_000) { s.manager.renew().use { expect(it.accessToken() != tokens[0]) { "renew (suspend)" } } } }
            expectEq(2L, Admin.count("grant:refresh_token") - before, "refresh grants")
        }
    }

    test("manager: revoked refresh tokens mean ReauthenticationRequired, and are not sent again") {
        SignedIn().use { s ->
            Admin.send("POST", "/__admin/revoke_refresh_tokens", "{}")
            s.storage.expire()
            val before = Admin.count("grant:refresh_token")
            val e = expectThrows<TokenException.ReauthenticationRequired> { s.manager.credentialsBlocking(Duration.ofMinutes(1)) }
            expectEq("invalid_grant", e.error, "error")
            expectThrows<TokenException.ReauthenticationRequired> { s.manager.credentialsBlocking(Duration.ofMinutes(1)) }
            expectThrows<TokenException.ReauthenticationRequired> { runBlocking { s.manager.renew() } }
            expectEq(1L, Admin.count("grant:refresh_token") - before, "refresh grants (the refused token is not resent)")
            // Signing in again recovers.
            val (tx, fresh) = signIn(s.client)
            s.manager.save(fresh)
            s.manager.credentialsBlocking(Duration.ofMinutes(1)).use { expectEq(fresh.accessToken(), it.accessToken(), "after signing in again") }
            tx.close(); fresh.close()
        }
    }

    test("manager: nothing stored, no refresh token, clear()") {
        publicClient().use { client ->
            val storage = RecordingStorage()
            CredentialsManager(client, storage).use { m ->
                expect(!m.hasCredentials()) { "hasCredentials with nothing stored" }
                expectEq(null, m.stored(), "stored()")
                val e = expectThrows<TokenException.ReauthenticationRequired> { m.credentialsBlocking(Duration.ZERO) }
                expectEq("no_credentials", e.error, "error")
            }
        }
        publicClient(offlineAccess = false).use { client ->
            val storage = RecordingStorage()
            val (tx, creds) = signIn(client)
            expectEq(null, creds.refreshToken(), "no offline_access, no refresh token")
            CredentialsManager(client, storage).use { m ->
                m.save(creds)
                m.credentialsBlocking(Duration.ofMinutes(1)).close()
                storage.expire()
                expect(!m.hasCredentials()) { "expired, no refresh token" }
                val e = expectThrows<TokenException.ReauthenticationRequired> { m.credentialsBlocking(Duration.ofMinutes(1)) }
                expectEq("no_refresh_token", e.error, "error")
                m.clear()
                expectEq("clear", storage.calls.last(), "last storage call")
                expectEq(null, m.stored(), "stored() after clear()")
            }
            tx.close(); creds.close()
        }
    }

    // --- secrets and lifetimes --------------------------------------------------------------

    test("no token, code verifier or secret in toString() or messages") {
        val texts = mutableListOf<String>()
        val hidden = secrets.toMutableList()
        hidden += Fx.webClientSecret
        webClient().use { client ->
            texts += client.toString()
            val tx = client.authorize(AuthorizeParams(audience = Fx.API, scope = USER_SCOPE))
            val verifierText = Regex("\"code_verifier\"\\s*:\\s*\"([^\"]+)\"").find(tx.toJson())?.groupValues?.get(1) ?: error("no verifier in toJson")
            hidden += verifierText
            texts += tx.toString()
            val location = browse(tx.url())
            val creds = client.handleCallbackBlocking(tx, location)
            hidden += listOf(creds.accessToken(), creds.refreshToken()!!, creds.idToken()!!)
            hidden += creds.accessToken().split('.')[2]
            texts += creds.toString()
            expect(creds.toString().contains("redacted")) { "toString: $creds" }
            texts += expectThrows<TokenException.OAuth> { client.handleCallbackBlocking(tx, location) }.toString()
            val cfg = SignInConfig(domain = Fx.url, clientId = Fx.webClientId, redirectUri = Fx.redirectUri, credentials = Credentials.clientSecret(Fx.webClientSecret))
            texts += cfg.toString()
            cfg.destroy()
            v.verifyBlocking(creds.accessToken()).use { texts += it.toString() }
            val storage = RecordingStorage()
            CredentialsManager(client, storage).use { m ->
                m.save(creds)
                texts += m.toString()
                texts += expectThrows<TokenException.ReauthenticationRequired> { client.refreshBlocking("x" + creds.refreshToken()!!) }.toString()
            }
            texts += v.toString()
            tx.close(); creds.close()
        }
        for (t in texts) for (h in hidden) expect(!t.contains(h)) { "a secret appears in: $t" }
        expect(texts.none { it.contains(Fx.userEmail) }) { "personal data in toString" }
    }

    test("objects are released, and a manager releases its Kotlin storage") {
        val start = liveObjects()
        repeat(10) {
            publicClient().use { client ->
                val (tx, creds) = signIn(client)
                v.verifyBlocking(creds.accessToken()).close()
                tx.close(); creds.close()
            }
        }
        val after = collected(start)
        expect(atMost(after, start)) { "live objects after use {}: $after (before: $start)" }
        val storage = managerReleasingStorage()
        var tries = 0
        while (storage.get() != null && tries++ < 100) {
            System.gc()
            Thread.sleep(50)
        }
        expect(storage.get() == null) { "the storage is still referenced after the manager was closed" }
        val end = collected(start)
        expect(atMost(end, start)) { "live objects: $end (before: $start)" }
    }

    v.close()
}

/** Uses a manager over a fresh storage, closes it; returns a weak reference to the storage. */
fun managerReleasingStorage(): WeakReference<RecordingStorage> {
    val storage = RecordingStorage()
    SignedIn().use { s ->
        CredentialsManager(s.client, storage).use { m ->
            m.save(s.first)
            m.credentialsBlocking(Duration.ofMinutes(1)).close()
        }
    }
    return WeakReference(storage)
}
