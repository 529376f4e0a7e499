// Kotlin tests of the generated tokenkeeper bindings, against the local issuer over real HTTP.
//
// Run by bindings/test-kotlin.sh, which builds the library, generates the Kotlin sources from it,
// starts `tokenkeeper-issuer` and passes its fixture in TK_* environment variables. A plain main():
// each test prints PASS/FAIL, and the last line is "kotlin: N passed, N failed".

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.time.Instant
import java.util.concurrent.CountDownLatch
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import tokenkeeper.AuthMethod
import tokenkeeper.ClientConfig
import tokenkeeper.Credentials
import tokenkeeper.HttpOptions
import tokenkeeper.SigningAlg
import tokenkeeper.Token
import tokenkeeper.TokenCheck
import tokenkeeper.TokenClient
import tokenkeeper.TokenException
import tokenkeeper.TokenRequest
import tokenkeeper.liveObjects
import tokenkeeper.tokenkeeperVersion
import tokenkeeper.use

// ---------------------------------------------------------------------------------------------
// The fixture and the issuer's admin API

object Fx {
    private fun env(name: String): String =
        System.getenv(name)?.takeIf { it.isNotEmpty() } ?: error("$name is not set (run bindings/test-kotlin.sh)")

    val url = env("TK_URL")
    val clientId = env("TK_CLIENT_ID")
    val clientSecret = env("TK_CLIENT_SECRET")
    val jwtClientId = env("TK_JWT_CLIENT_ID")
    val rsaKey = env("TK_JWT_RSA_PRIVATE_KEY")
    val ecKey = env("TK_JWT_EC_PRIVATE_KEY")
    val ungrantedId = env("TK_UNGRANTED_CLIENT_ID")
    val ungrantedSecret = env("TK_UNGRANTED_CLIENT_SECRET")
    /** `{url}/`: the `iss` of every token. */
    val issuer = env("TK_ISSUER")
    /** Sign-in apps: public (PKCE, rotating refresh tokens) and confidential (a secret). */
    val publicClientId = env("TK_PUBLIC_CLIENT_ID")
    val webClientId = env("TK_WEB_CLIENT_ID")
    val webClientSecret = env("TK_WEB_CLIENT_SECRET")
    /** `{url}/callback`, an allowed callback of both sign-in apps. */
    val redirectUri = env("TK_REDIRECT_URI")
    /** The user the test-mode /authorize signs in, a member of the organization. */
    val userSub = env("TK_USER_SUB")
    val userEmail = env("TK_USER_EMAIL")
    val orgId = env("TK_ORG_ID")
    val orgName = env("TK_ORG_NAME")
    const val API = "https://api.example.com"
}

object Admin {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    fun send(method: String, path: String, body: String? = null): String {
        val b = HttpRequest.newBuilder(URI.create(Fx.url + path)).timeout(Duration.ofSeconds(10))
        val req = if (body == null) b.GET().build()
        else b.header("content-type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body)).build()
        val resp = http.send(req, HttpResponse.BodyHandlers.ofString())
        check(resp.statusCode() == 200) { "admin $path: HTTP ${resp.statusCode()}" }
        return resp.body()
    }

    /** Requests received by /oauth/token so far, faulted ones included. */
    fun tokenRequests(): Long = count("token")

    /** A counter of /__admin/stats (`token`, `grant:refresh_token`, `refresh_reuse`, `userinfo`…). */
    fun count(name: String): Long =
        Regex("\"" + Regex.escape(name) + "\"\\s*:\\s*(\\d+)").find(send("GET", "/__admin/stats"))?.groupValues?.get(1)?.toLong() ?: 0L

    fun fault(json: String) { send("POST", "/__admin/faults", json) }

    private val apis = AtomicInteger()

    /** Registers a fresh API, so its cache key is cold in this process. */
    fun newApi(scopes: List<String> = listOf("read:things", "write:things"), lifetime: Int = 86400): String {
        val aud = "https://kotlin-${apis.incrementAndGet()}-${System.nanoTime()}.example.com"
        val s = scopes.joinToString(",") { "\"$it\"" }
        send("POST", "/__admin/apis", """{"audience":"$aud","scopes":[$s],"lifetime":$lifetime}""")
        return aud
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny harness

var passed = 0
var failed = 0

fun test(name: String, body: () -> Unit) {
    val start = System.nanoTime()
    try {
        body()
        passed++
        println("PASS $name (${(System.nanoTime() - start) / 1_000_000} ms)")
    } catch (t: Throwable) {
        failed++
        println("FAIL $name: $t")
        t.printStackTrace(System.out)
    }
}

fun expect(cond: Boolean, msg: () -> String) {
    if (!cond) throw AssertionError(msg())
}

fun <T> expectEq(expected: T, actual: T, what: String) =
    expect(expected == actual) { "$what: expected <$expected>, got <$actual>" }

inline fun <reified E : Throwable> expectThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e", e)
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing was thrown")
}

// ---------------------------------------------------------------------------------------------
// Helpers

fun config(
    domain: String = Fx.url,
    clientId: String = Fx.clientId,
    secret: String = Fx.clientSecret,
    authMethod: AuthMethod? = null,
    http: HttpOptions = HttpOptions(),
    cacheEnabled: Boolean? = null,
    defaultAudience: String? = null,
    cacheRefreshAhead: Double? = null,
) = ClientConfig(
    domain = domain,
    clientId = clientId,
    credentials = Credentials.clientSecret(secret),
    authMethod = authMethod,
    http = http,
    cacheEnabled = cacheEnabled,
    defaultAudience = defaultAudience,
    cacheRefreshAhead = cacheRefreshAhead,
)

/** A client built from `cfg`; the config (and its credentials) is released once the client exists. */
fun client(cfg: ClientConfig = config()): TokenClient = cfg.use { TokenClient(it) }

/** A client that caches nothing and never retries: every call is one request (for faults). */
fun uncachedClient(requestTimeout: Duration? = null) =
    client(config(cacheEnabled = false, http = HttpOptions(requestTimeout = requestTimeout, maxAttempts = 1u)))

/** The cause a fault produces, through a real request. */
inline fun <reified E : TokenException> faulted(faultJson: String, requestTimeout: Duration? = null): E =
    uncachedClient(requestTimeout).use { c ->
        Admin.fault(faultJson)
        expectThrows<E> { c.getTokenBlocking(TokenRequest(Fx.API)).close() }
    }

/** Makes `n` tokens it never closes and drops them: (tokens alive while held, distinct tokens). */
fun holdTokens(c: TokenClient, req: TokenRequest, n: Int): Pair<ULong, Int> {
    val held = ArrayList<Token>(n)
    for (i in 0 until n) held.add(c.getTokenBlocking(req))
    return liveObjects().tokens to held.map { it.accessToken() }.toSet().size
}

/** The live-object counts once the JVM has had the chance to clean unreachable objects. */
fun collected(target: tokenkeeper.LiveObjects): tokenkeeper.LiveObjects {
    var tries = 0
    fun done(l: tokenkeeper.LiveObjects) = atMost(l, target)
    while (!done(liveObjects()) && tries++ < 100) {
        System.gc()
        Thread.sleep(50)
    }
    return liveObjects()
}

fun jwtParts(t: String) = t.split('.').size

/** Whether no kind of object has more alive in `l` than in `t`. */
fun atMost(l: tokenkeeper.LiveObjects, t: tokenkeeper.LiveObjects) =
    l.clients <= t.clients && l.tokens <= t.tokens && l.credentials <= t.credentials &&
        l.verifiers <= t.verifiers && l.claims <= t.claims && l.signInClients <= t.signInClients &&
        l.transactions <= t.transactions && l.userCredentials <= t.userCredentials && l.managers <= t.managers

// ---------------------------------------------------------------------------------------------

fun main() {
    val baseline = liveObjects()
    val secrets = listOf(Fx.clientSecret, Fx.ungrantedSecret, Fx.rsaKey.lines()[1], Fx.ecKey.lines()[1])
    val shared = client()

    test("tokenkeeperVersion() is the workspace version") {
        expectEq(System.getenv("TK_EXPECTED_VERSION"), tokenkeeperVersion(), "version")
    }

    test("token for an audience (blocking)") {
        shared.getTokenBlocking(TokenRequest(Fx.API, scope = "read:things")).use { t ->
            expectEq(3, jwtParts(t.accessToken()), "JWT segments")
            expect(t.tokenType().equals("bearer", ignoreCase = true)) { "token type ${t.tokenType()}" }
            expectEq(86400uL, t.expiresIn(), "expires_in")
            expectEq("read:things", t.scope(), "scope")
            val left = Duration.between(Instant.now(), t.expiresAt()).seconds
            expect(left in 86000..86400) { "expires_at is $left s away" }
            expect(t.remaining().seconds in 86000..86400) { "remaining ${t.remaining()}" }
            expectEq("Bearer ${t.accessToken()}", t.authorizationHeader(), "authorization header")
        }
    }

    test("second call is served from the cache (issuer count proves it)") {
        val aud = Admin.newApi()
        val before = Admin.tokenRequests()
        client().use { c ->
            val s0 = c.stats()
            val t1 = c.getTokenBlocking(TokenRequest(aud))
            val t2 = c.getTokenBlocking(TokenRequest(aud))
            expectEq(1L, Admin.tokenRequests() - before, "token requests")
            expectEq(t1.accessToken(), t2.accessToken(), "same token")
            expect(t1.isSame(t2)) { "a cache hit returns the same fetched token" }
            val s = c.stats()
            expectEq(1uL, s.tokensMinted - s0.tokensMinted, "tokens minted")
            expect(s.cacheHits - s0.cacheHits >= 1uL) { "cache hits $s" }
            c.cached(TokenRequest(aud)).use { expect(it != null && it.isSame(t1)) { "cached() gives the token" } }
            t1.close(); t2.close()
        }
    }

    test("another client with the same credentials shares the cache") {
        val aud = Admin.newApi()
        val before = Admin.tokenRequests()
        val a = client().use { it.getTokenBlocking(TokenRequest(aud)).use { t -> t.accessToken() } }
        val b = client().use { it.getTokenBlocking(TokenRequest(aud)).use { t -> t.accessToken() } }
        expectEq(a, b, "token")
        expectEq(1L, Admin.tokenRequests() - before, "token requests")
    }

    test("different audiences, scopes and organizations get different tokens") {
        val aud1 = Admin.newApi()
        val aud2 = Admin.newApi()
        val before = Admin.tokenRequests()
        val reqs = listOf(
            TokenRequest(aud1),
            TokenRequest(aud2),
            TokenRequest(aud1, scope = "read:things"),
            TokenRequest(aud1, scope = "read:things write:things"),
            TokenRequest(Fx.API, scope = "read:things", organization = "acme"),
        )
        val tokens = reqs.map { r -> shared.getTokenBlocking(r).use { it.accessToken() } }
        expectEq(tokens.size, tokens.toSet().size, "distinct tokens")
        // Scope order and repeats do not matter: one key, no new request.
        val same = shared.getTokenBlocking(TokenRequest(aud1, scope = "write:things  read:things read:things")).use { it.accessToken() }
        expectEq(tokens[3], same, "token for the reordered scope")
        expectEq(5L, Admin.tokenRequests() - before, "token requests")
        shared.getTokenBlocking(TokenRequest(aud2, scope = "read:things")).use { expectEq("read:things", it.scope(), "granted scope") }
    }

    test("client_secret_basic and private_key_jwt (RS256, PS256, ES256)") {
        client(config(authMethod = AuthMethod.CLIENT_SECRET_BASIC)).use { c ->
            expectEq(AuthMethod.CLIENT_SECRET_BASIC, c.authMethod(), "auth method")
            c.getTokenBlocking(TokenRequest(Admin.newApi())).close()
        }
        for ((alg, pem) in listOf(SigningAlg.RS256 to Fx.rsaKey, SigningAlg.PS256 to Fx.rsaKey, SigningAlg.ES256 to Fx.ecKey)) {
            val cfg = ClientConfig(domain = Fx.url, clientId = Fx.jwtClientId, credentials = Credentials.privateKey(pem, alg))
            client(cfg).use { c ->
                expectEq(AuthMethod.PRIVATE_KEY_JWT, c.authMethod(), "auth method")
                c.getTokenBlocking(TokenRequest(Admin.newApi())).use { expectEq(3, jwtParts(it.accessToken()), "$alg token") }
            }
        }
    }

    test("invalidate() forgets the token; default request") {
        val aud = Admin.newApi()
        client(config(defaultAudience = aud)).use { c ->
            val req = c.defaultRequest()
            expectEq(aud, req.audience, "default audience")
            val before = Admin.tokenRequests()
            val a = c.getTokenBlocking(req).use { it.accessToken() }
            c.invalidate(req)
            expect(c.cached(req) == null) { "nothing cached after invalidate" }
            val b = c.getTokenBlocking(req).use { it.accessToken() }
            expect(a != b) { "a new token after invalidate" }
            expectEq(2L, Admin.tokenRequests() - before, "token requests")
        }
        client().use { c -> expectThrows<TokenException.Config> { c.defaultRequest() } }
    }

    // --- each error cause, from a real response or an injected fault ------------------------

    test("OAuth: wrong secret (401), unknown audience (403), ungranted client (403)") {
        client(config(secret = "wrong-secret-value")).use { c ->
            val e = expectThrows<TokenException.OAuth> { c.getTokenBlocking(TokenRequest(Fx.API)) }
            expectEq(401.toUShort(), e.status, "status")
            expectEq("access_denied", e.error, "error")
            expect(!e.message.contains("wrong-secret-value")) { "secret in message: ${e.message}" }
        }
        val e2 = expectThrows<TokenException.OAuth> { shared.getTokenBlocking(TokenRequest("https://nope.example.com")) }
        expectEq(403.toUShort(), e2.status, "status")
        expectEq("access_denied", e2.error, "error")
        expect(e2.errorDescription?.contains("Service not found") == true) { "description ${e2.errorDescription}" }
        client(config(clientId = Fx.ungrantedId, secret = Fx.ungrantedSecret)).use { c ->
            val e3 = expectThrows<TokenException.OAuth> { c.getTokenBlocking(TokenRequest(Fx.API)) }
            expectEq(403.toUShort(), e3.status, "status")
            expect(e3.errorDescription?.contains("not authorized") == true) { "description ${e3.errorDescription}" }
        }
    }

    test("RateLimited: 429 with Retry-After 120") {
        val e = faulted<TokenException.RateLimited>(
            """{"endpoint":"token","status":429,"body":"{\"error\":\"too_many_requests\",\"error_description\":\"Global limit has been reached\"}","headers":[["retry-after","120"]]}""",
        )
        expectEq(120.0, e.retryAfterSeconds, "retry after")
        expectEq("Global limit has been reached", e.errorDescription, "description")
    }

    test("Network: closed port, and a dropped connection") {
        client(config(domain = "http://127.0.0.1:1", http = HttpOptions(maxAttempts = 1u))).use { c ->
            expectThrows<TokenException.Network> { c.getTokenBlocking(TokenRequest(Fx.API)) }
        }
        faulted<TokenException.Network>("""{"endpoint":"token","drop_connection":true}""")
    }

    test("Timeout: a reply slower than the request timeout") {
        val start = System.nanoTime()
        faulted<TokenException.Timeout>("""{"endpoint":"token","delay_ms":3000}""", requestTimeout = Duration.ofMillis(300))
        val ms = (System.nanoTime() - start) / 1_000_000
        expect(ms < 2500) { "took $ms ms" }
    }

    test("InvalidResponse: not JSON, missing access_token, oversized, token_type mac") {
        val e = faulted<TokenException.InvalidResponse>("""{"endpoint":"token","status":200,"body":"{not json"}""")
        expectEq(200.toUShort(), e.status, "status")
        faulted<TokenException.InvalidResponse>("""{"endpoint":"token","status":200,"body":"{\"token_type\":\"Bearer\"}"}""")
        faulted<TokenException.InvalidResponse>("""{"endpoint":"token","body_bytes":100000}""")
        val mac = faulted<TokenException.InvalidResponse>(
            """{"endpoint":"token","status":200,"body":"{\"access_token\":\"abc\",\"token_type\":\"mac\"}"}""",
        )
        expect(mac.detail.contains("Bearer")) { "detail ${mac.detail}" }
    }

    test("Config: plain http off loopback, empty client id, bad PEM, bad policy, empty audience") {
        expectThrows<TokenException.Config> { client(config(domain = "http://example.com")) }
        expectThrows<TokenException.Config> { client(config(clientId = "")) }
        val badPem = ClientConfig(domain = Fx.url, clientId = Fx.jwtClientId, credentials = Credentials.privateKey("not a pem", SigningAlg.ES256))
        expectThrows<TokenException.Config> { client(badPem) }
        expectThrows<TokenException.Config> { client(config(cacheRefreshAhead = 2.0)) }
        expectThrows<TokenException.Config> { client(config(http = HttpOptions(maxAttempts = 0u))) }
        expectThrows<TokenException.Config> { shared.getTokenBlocking(TokenRequest("")) }
    }

    test("every cause is its own type (InvalidToken carries the check)") {
        // Exhaustively matchable. InvalidToken and ReauthenticationRequired are produced by real
        // rejections in SignInTest.kt (verification, sign-in, the credentials manager).
        val all: List<TokenException> = listOf(
            TokenException.OAuth("access_denied", null, 403u),
            TokenException.RateLimited(1.0, null),
            TokenException.Network("x"),
            TokenException.Timeout("x"),
            TokenException.InvalidResponse(null, "x"),
            TokenException.Config("x"),
            TokenException.InvalidToken(TokenCheck.AUDIENCE, "x"),
            TokenException.ReauthenticationRequired("invalid_grant", null),
            TokenException.Storage("load() failed: x"),
        )
        val names = all.map { e ->
            when (e) {
                is TokenException.OAuth -> "oauth"
                is TokenException.RateLimited -> "rate_limited"
                is TokenException.Network -> "network"
                is TokenException.Timeout -> "timeout"
                is TokenException.InvalidResponse -> "invalid_response"
                is TokenException.Config -> "config"
                is TokenException.InvalidToken -> "invalid_token:" + e.check.name.lowercase()
                is TokenException.ReauthenticationRequired -> "reauthentication_required"
                is TokenException.Storage -> "storage"
            }
        }
        expectEq(9, names.toSet().size, "distinct causes")
        expectEq(15, TokenCheck.entries.size, "token checks")
        expectEq(TokenCheck.TOKEN_TYPE, TokenCheck.entries.last(), "the newest check is last")
    }

    // --- concurrency ------------------------------------------------------------------------

    test("32 threads on a cold key cause one request") {
        val aud = Admin.newApi()
        val before = Admin.tokenRequests()
        val n = 32
        val barrier = CyclicBarrier(n)
        val done = CountDownLatch(n)
        val got = arrayOfNulls<String>(n)
        val errors = java.util.concurrent.ConcurrentLinkedQueue<Throwable>()
        val threads = (0 until n).map { i ->
            Thread {
                try {
                    barrier.await(10, TimeUnit.SECONDS)
                    shared.getTokenBlocking(TokenRequest(aud)).use { got[i] = it.accessToken() }
                } catch (t: Throwable) {
                    errors.add(t)
                } finally {
                    done.countDown()
                }
            }.apply { isDaemon = true; start() }
        }
        expect(done.await(30, TimeUnit.SECONDS)) { "threads did not finish" }
        threads.forEach { it.join(1000) }
        expect(errors.isEmpty()) { "errors: $errors" }
        expectEq(1, got.toSet().size, "distinct tokens")
        expect(got[0] != null) { "no token" }
        expectEq(1L, Admin.tokenRequests() - before, "token requests")
    }

    // --- async (suspend) --------------------------------------------------------------------

    test("suspend getToken: a token, then the cache") {
        val aud = Admin.newApi()
        val before = Admin.tokenRequests()
        runBlocking {
            withTimeout(20_000) {
                val t1 = shared.getToken(TokenRequest(aud, scope = "read:things"))
                val t2 = shared.getToken(TokenRequest(aud, scope = "read:things"))
                expectEq("read:things", t1.scope(), "scope")
                expect(t1.isSame(t2)) { "second call from the cache" }
                t1.close(); t2.close()
            }
        }
        expectEq(1L, Admin.tokenRequests() - before, "token requests")
    }

    test("32 coroutines on a cold key cause one request") {
        val aud = Admin.newApi()
        val before = Admin.tokenRequests()
        val tokens = runBlocking {
            withTimeout(20_000) {
                (1..32).map { async(Dispatchers.Default) { shared.getToken(TokenRequest(aud)).use { it.accessToken() } } }.awaitAll()
            }
        }
        expectEq(1, tokens.toSet().size, "distinct tokens")
        expectEq(1L, Admin.tokenRequests() - before, "token requests")
    }

    test("suspend errors are the same types") {
        client(config(secret = "wrong")).use { c ->
            val e = expectThrows<TokenException.OAuth> { runBlocking { c.getToken(TokenRequest(Fx.API)) } }
            expectEq(401.toUShort(), e.status, "status")
        }
        expectThrows<TokenException.Config> { runBlocking { shared.getToken(TokenRequest(" ")) } }
        uncachedClient(Duration.ofMillis(300)).use { c ->
            Admin.fault("""{"endpoint":"token","delay_ms":2000}""")
            expectThrows<TokenException.Timeout> { runBlocking { c.getToken(TokenRequest(Fx.API)) } }
        }
    }

    test("cancelling a suspended call leaves the client usable") {
        val aud = Admin.newApi()
        Admin.fault("""{"endpoint":"token","delay_ms":1500}""")
        expectThrows<TimeoutCancellationException> {
            runBlocking { withTimeout(200) { shared.getToken(TokenRequest(aud)) } }
        }
        // The fetch the cancelled caller started still completes and fills the cache.
        val t = runBlocking { withTimeout(10_000) { shared.getToken(TokenRequest(aud)) } }
        t.use { expectEq(3, jwtParts(it.accessToken()), "token") }
    }

    // --- secrets and lifetimes --------------------------------------------------------------

    test("no secret in toString() or messages") {
        val cfg = config()
        val key = Credentials.privateKey(Fx.ecKey, SigningAlg.ES256)
        val texts = mutableListOf(cfg.toString(), cfg.credentials.toString(), key.toString(), shared.toString())
        shared.getTokenBlocking(TokenRequest(Fx.API)).use { t ->
            texts += t.toString()
            expect(!t.toString().contains(t.accessToken())) { "token text in toString: $t" }
            expect(!t.toString().contains(t.accessToken().split('.')[1])) { "token payload in toString: $t" }
            expect(t.toString().contains("redacted")) { "toString: $t" }
        }
        client(config(secret = Fx.clientSecret + "x")).use { c ->
            texts += expectThrows<TokenException.OAuth> { c.getTokenBlocking(TokenRequest(Fx.API)) }.toString()
        }
        for (s in texts) for (secret in secrets) {
            expect(!s.contains(secret)) { "a secret appears in: $s" }
        }
        expect(shared.toString().contains(Fx.clientId)) { "client toString: $shared" }
        cfg.destroy(); key.close()
    }

    test("objects are released: close()/use {} and the cleaner") {
        val start = liveObjects()
        val aud = Admin.newApi()
        repeat(50) {
            client().use { c ->
                c.getTokenBlocking(TokenRequest(aud)).use { }
                c.cached(TokenRequest(aud))?.close()
            }
        }
        expectEq(start, liveObjects(), "live objects after use {}")
        // Closed objects refuse calls instead of touching freed memory.
        val closed = client()
        closed.close()
        expectThrows<IllegalStateException> { closed.stats() }
        // Objects never closed are released by the JVM cleaner once unreachable.
        // (made in another frame, so no stale local slot of this one keeps them reachable)
        val (alive, distinct) = holdTokens(shared, TokenRequest(aud), 200)
        expect(alive >= start.tokens + 200uL) { "$alive tokens alive while referenced" }
        expectEq(1, distinct, "one cached token")
        val after = collected(start)
        expect(after.tokens <= start.tokens && after.clients <= start.clients) { "live objects after GC: $after (before: $start)" }
    }

    signInTests(shared, secrets)
    scenarioTests(shared)
    hardeningTests()
    sharedCacheTests()
    exchangeTests()
    mrrtTests()
    tlsTests()

    shared.close()
    test("every object made by this suite was released") {
        expectEq(baseline, collected(baseline), "live objects")
    }

    println("kotlin: $passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
