// The shared scenarios S1-S7 of issue 10 (core-api brief), which every surface (Python, C,
// Kotlin, Swift) runs with the same expected outcome, against the local issuer over real HTTP.
// Called from main() in TokenKeeperTest.kt (same harness and counters); Scenarios.swift
// runs the same scenarios in Swift.

import java.io.IOException
import java.time.Duration
import java.time.Instant
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import tokenkeeper.AuthorizeParams
import tokenkeeper.CredentialsManager
import tokenkeeper.CredentialsStorage
import tokenkeeper.CredentialsStore
import tokenkeeper.HttpOptions
import tokenkeeper.SignInClient
import tokenkeeper.SignInConfig
import tokenkeeper.TokenClient
import tokenkeeper.TokenException
import tokenkeeper.TokenRequest
import tokenkeeper.TokenVerifier
import tokenkeeper.UserCredentials
import tokenkeeper.VerifierConfig
import tokenkeeper.use

/** S2: a storage whose `load` calls back into its own manager, and records what that call threw. */
class ReentrantStorage : CredentialsStore {
    @Volatile var manager: CredentialsManager? = null
    val inner = ConcurrentLinkedQueue<Throwable?>()

    override fun load(): UserCredentials? {
        val m = manager ?: return null
        for (call in listOf<() -> Unit>({ m.hasCredentials() }, { m.credentialsBlocking(Duration.ZERO).close() })) {
            inner.add(try { call(); null } catch (t: Throwable) { t })
        }
        return null
    }

    override fun save(credentials: UserCredentials) = credentials.close()
    override fun clear() {}
}

/**
 * S3: a storage that records how many of its calls ever ran at once (each `load` takes ~20 ms).
 * Written against the deprecated name `CredentialsStorage`, which must keep compiling for a release.
 */
@Suppress("DEPRECATION")
class CountingStorage(private val json: String) : CredentialsStorage {
    private val now = AtomicInteger()
    val max = AtomicInteger()
    val calls = AtomicInteger()

    private fun <T> counted(body: () -> T): T {
        calls.incrementAndGet()
        max.accumulateAndGet(now.incrementAndGet(), ::maxOf)
        try { return body() } finally { now.decrementAndGet() }
    }

    override fun load(): UserCredentials? = counted { Thread.sleep(20); UserCredentials.fromJson(json) }
    override fun save(credentials: UserCredentials) = counted { credentials.close() }
    override fun clear() = counted {}
}

/** Runs `body` on another thread and waits at most `seconds` for it: a deadlock fails the test. */
fun <T> bounded(seconds: Long = 20, body: () -> T): T = CompletableFuture.supplyAsync(body).get(seconds, TimeUnit.SECONDS)

fun publicClientWith(http: HttpOptions): SignInClient =
    SignInConfig(domain = Fx.url, clientId = Fx.publicClientId, redirectUri = Fx.redirectUri, http = http).use { SignInClient(it) }

fun verifierWith(http: HttpOptions): TokenVerifier =
    VerifierConfig(domain = Fx.url, audience = Fx.API, http = http).let { TokenVerifier(it) }

fun scenarioTests(shared: TokenClient) {
    test("S1 storage error: a failing load or save is Storage (not Config), naming the method") {
        SignedIn().use { s ->
            s.storage.failLoad = IOException("keychain is locked")
            val e = expectThrows<TokenException.Storage> { s.manager.credentialsBlocking(Duration.ofMinutes(1)) }
            expect(e.detail.startsWith("load() failed: java.io.IOException: keychain is locked")) { "detail ${e.detail}" }
            expect(!e.detail.contains("\n")) { "one line: ${e.detail}" }
            expectThrows<TokenException.Storage> { s.manager.hasCredentials() }
            val e2 = expectThrows<TokenException.Storage> { runBlocking { withTimeout(20_000) { s.manager.credentials(Duration.ofMinutes(1)) } } }
            expect(e2.detail.contains("load() failed") && e2.detail.contains("keychain is locked")) { "detail ${e2.detail}" }
            // A TokenException the storage throws on purpose comes back as itself.
            s.storage.failLoad = TokenException.ReauthenticationRequired("keychain_item_gone", "the user removed it")
            val e3 = expectThrows<TokenException.ReauthenticationRequired> { s.manager.credentialsBlocking(Duration.ofMinutes(1)) }
            expectEq("keychain_item_gone", e3.error, "error")
            expectEq("the user removed it", e3.errorDescription, "description")
            // A failed save during a renewal: Storage naming save(), and the renewal is not lost.
            s.storage.failLoad = null
            s.storage.expire()
            s.storage.failSave = IllegalStateException("disk full")
            val e4 = expectThrows<TokenException.Storage> { s.manager.credentialsBlocking(Duration.ofMinutes(1)) }
            expect(e4.detail.startsWith("save() failed: java.lang.IllegalStateException: disk full")) { "detail ${e4.detail}" }
            s.storage.failSave = null
            val before = Admin.count("grant:refresh_token")
            s.manager.credentialsBlocking(Duration.ofMinutes(1)).use { expect(it.isValidFor(Duration.ofHours(1))) { "renewed credentials kept by the manager" } }
            expectEq(0L, Admin.count("grant:refresh_token") - before, "refresh grants")
            expectEq(0L, Admin.count("refresh_reuse"), "refresh tokens reused")
        }
    }

    test("S2 re-entrant store: a load calling back into its manager gets Config at once, no deadlock") {
        publicClient().use { client ->
            val storage = ReentrantStorage()
            CredentialsManager(client, storage).use { m ->
                storage.manager = m
                expectEq(false, bounded { m.hasCredentials() }, "outer hasCredentials")
                val e = bounded { expectThrows<TokenException.ReauthenticationRequired> { m.credentialsBlocking(Duration.ZERO) } }
                expectEq("no_credentials", e.error, "outer credentials")
                storage.manager = null
            }
            val inner = storage.inner.toList()
            expect(inner.size >= 4) { "inner calls: $inner" }
            for (t in inner) {
                expect(t is TokenException.Config && t.detail.contains("called back into the manager")) { "inner call: $t" }
            }
        }
    }

    test("S3 serialised store: 8 threads on a fresh manager, the store never runs two calls at once") {
        val stored = UserCredentials("at", "Bearer", Instant.now().plusSeconds(3600), "openid", "rt", null)
        val storage = CountingStorage(stored.use { it.toJson() })
        publicClient().use { client ->
            CredentialsManager(client, storage).use { m ->
                val n = 8
                val barrier = CyclicBarrier(n)
                val done = CountDownLatch(n)
                val errors = ConcurrentLinkedQueue<Throwable>()
                repeat(n) {
                    Thread {
                        try {
                            barrier.await(10, TimeUnit.SECONDS)
                            m.credentialsBlocking(Duration.ofMinutes(1)).use { expectEq("at", it.accessToken(), "access token") }
                        } catch (t: Throwable) {
                            errors.add(t)
                        } finally {
                            done.countDown()
                        }
                    }.apply { isDaemon = true; start() }
                }
                expect(done.await(30, TimeUnit.SECONDS)) { "threads did not finish" }
                expect(errors.isEmpty()) { "errors: $errors" }
            }
        }
        expect(storage.calls.get() >= 8) { "store calls ${storage.calls.get()}" }
        expectEq(1, storage.max.get(), "most store calls at once")
    }

    test("S4 extra authorize parameters: sorted by name after the library's own") {
        publicClient().use { c ->
            val extra = linkedMapOf("prompt" to "login", "login_hint" to "a@example.com", "connection" to "Username-Password-Authentication")
            c.authorize(AuthorizeParams(extra = extra)).use { tx ->
                val want = "&connection=Username-Password-Authentication&login_hint=a%40example.com&prompt=login"
                expect(tx.url().endsWith(want)) { "url ${tx.url()}" }
            }
        }
    }

    test("S5 claims: getI64 truncates 1.5 to 1, getF64 is 1.5, hasScope needs every scope") {
        val t = now()
        val token = signed("""{"iss":"${Fx.issuer}","aud":"${Fx.API}","sub":"s5","iat":$t,"exp":${t + 600},"n":1.5,"scope":"read:a write:b"}""")
        verifierWith(HttpOptions()).use { v ->
            v.verifyBlocking(token).use { c ->
                expectEq(1L, c.getI64("n"), "getI64")
                expectEq(1.5, c.getF64("n"), "getF64")
                expectEq(null, c.getI64("sub"), "getI64 of a string")
                expect(c.hasScope("read:a write:b")) { "hasScope(read:a write:b)" }
                expect(!c.hasScope("read:a delete:c")) { "hasScope(read:a delete:c)" }
                expect(c.hasScope("write:b")) { "hasScope(write:b)" }
            }
        }
    }

    test("S6 HTTP knobs: every knob on all three configs; maxAttempts 0 or 11 is Config; 1 vs 2 attempts") {
        val all = HttpOptions(
            connectTimeout = Duration.ofSeconds(2), requestTimeout = Duration.ofSeconds(5), maxResponseBytes = 100_000uL,
            maxAttempts = 2u, initialBackoff = Duration.ofMillis(10), maxBackoff = Duration.ofMillis(50),
            maxRetryAfter = Duration.ofSeconds(1),
        )
        client(config(http = all)).close()
        verifierWith(all).close()
        publicClientWith(all).close()
        for (n in listOf(0u, 11u)) {
            val bad = HttpOptions(maxAttempts = n)
            expectThrows<TokenException.Config> { client(config(http = bad)) }
            expectThrows<TokenException.Config> { verifierWith(bad) }
            expectThrows<TokenException.Config> { publicClientWith(bad) }
        }
        val fail503 = { endpoint: String -> Admin.fault("""{"endpoint":"$endpoint","status":503,"body":"{\"error\":\"temporarily_unavailable\"}"}""") }
        fun attempts(n: UInt) = HttpOptions(maxAttempts = n, initialBackoff = Duration.ofMillis(10))
        // The client's token request.
        for (n in listOf(1u, 2u)) {
            client(config(cacheEnabled = false, http = attempts(n))).use { c ->
                val before = Admin.tokenRequests()
                fail503("token")
                if (n == 1u) expectThrows<TokenException> { c.getTokenBlocking(TokenRequest(Fx.API)) }
                else c.getTokenBlocking(TokenRequest(Fx.API)).close()
                expectEq(n.toLong(), Admin.tokenRequests() - before, "token requests with maxAttempts=$n")
            }
        }
        // The verifier's JWKS request (a fresh verifier has no JWKS yet).
        val token = shared.getTokenBlocking(TokenRequest(Fx.API)).use { it.accessToken() }
        for (n in listOf(1u, 2u)) {
            verifierWith(attempts(n)).use { v ->
                val before = Admin.count("jwks")
                fail503("jwks")
                if (n == 1u) expectThrows<TokenException> { v.verifyBlocking(token) }
                else v.verifyBlocking(token).close()
                expectEq(n.toLong(), Admin.count("jwks") - before, "JWKS requests with maxAttempts=$n")
            }
        }
        // The sign-in client's /userinfo request.
        val (tx, creds) = publicClient().use { signIn(it) }
        for (n in listOf(1u, 2u)) {
            publicClientWith(attempts(n)).use { c ->
                val before = Admin.count("userinfo")
                fail503("userinfo")
                if (n == 1u) expectThrows<TokenException> { c.userinfoBlocking(creds.accessToken()) }
                else c.userinfoBlocking(creds.accessToken()).close()
                expectEq(n.toLong(), Admin.count("userinfo") - before, "userinfo requests with maxAttempts=$n")
            }
        }
        tx.close(); creds.close()
    }

    test("S7 default audience: a request without an audience gets the default one, or Config") {
        client(config(defaultAudience = Fx.API)).use { c ->
            val token = c.getTokenBlocking(TokenRequest()).use { it.accessToken() }
            val async = runBlocking { withTimeout(20_000) { c.getToken(TokenRequest(scope = "read:things")).use { it.accessToken() } } }
            verifierWith(HttpOptions()).use { v ->
                v.verifyBlocking(token).use { expectEq(listOf(Fx.API), it.aud(), "aud") }
                v.verifyBlocking(async).use { expectEq("read:things", it.scope(), "scope") }
            }
        }
        val e = expectThrows<TokenException.Config> { shared.getTokenBlocking(TokenRequest()) }
        expect(e.detail.contains("default audience")) { "detail ${e.detail}" }
        expectThrows<TokenException.Config> { runBlocking { shared.getToken(TokenRequest(audience = "")) } }
    }

    test("P1 prepared request: normalised once, hits counted by the core, one slot, a one-call header") {
        client().use { c ->
            val req = TokenRequest(audience = Fx.API, scope = "write:things read:things read:things")
            c.invalidate(req)
            val before = Admin.tokenRequests()
            c.prepare(req).use { p ->
                expectEq(TokenRequest(Fx.API, "read:things write:things", null), p.request(), "normalised")
                val first = p.getTokenBlocking().use { it.accessToken() }
                val hits = c.stats().cacheHits
                val again = runBlocking { withTimeout(20_000) { p.getToken().use { it.accessToken() } } }
                expectEq(first, again, "a hit")
                expectEq(hits + 1u, c.stats().cacheHits, "counted at once")
                expectEq(first, c.getTokenBlocking(TokenRequest(Fx.API, "read:things write:things")).use { it.accessToken() }, "one slot")
                expectEq("Bearer $first", p.authorizationHeaderBlocking(), "header in one call")
                expectEq(1L, Admin.tokenRequests() - before, "token requests")
                val dropped = p.getTokenBlocking().use { t -> p.invalidateIfCurrent(t) && !p.invalidateIfCurrent(t) }
                expect(dropped) { "invalidateIfCurrent drops the current token once" }
                val fresh = p.getTokenBlocking().use { it.accessToken() }
                expect(fresh != first) { "a new token after invalidateIfCurrent" }
                expectEq(2L, Admin.tokenRequests() - before, "token requests")
                expect(p.toString().contains("PreparedRequest") && !p.toString().contains(fresh)) { "text ${p}" }
            }
            c.invalidate(req) // the process cache as found
        }
        expectThrows<TokenException.Config> { client().use { it.prepare(TokenRequest()) } }
    }

    test("R1 after rejection: the rejected token is dropped once, the retry gets a new one") {
        client().use { c ->
            val req = TokenRequest(audience = Fx.API, scope = "read:things write:things")
            c.prepare(req).use { p ->
                p.getTokenBlocking().use { t1 ->
                    val before = Admin.tokenRequests()
                    val t2 = p.afterRejectionBlocking(t1) ?: error("a new token")
                    val again = runBlocking { withTimeout(20_000) { p.afterRejection(t1) } } ?: error("the newer token")
                    t2.use { a -> again.use { b ->
                        expect(a.accessToken() != t1.accessToken()) { "a new token" }
                        expectEq(a.accessToken(), b.accessToken(), "the same newer token")
                    } }
                    expectEq(1L, Admin.tokenRequests() - before, "token requests")
                }
            }
            c.invalidate(req)
        }
    }

    test("U1 user credentials: expiresAt from the epoch to 9999-12-31T23:59:59Z, else Config") {
        val latest = Instant.ofEpochSecond(253_402_300_799)
        UserCredentials("at", "Bearer", latest, null, null, null).use { expectEq(latest, it.expiresAt(), "latest") }
        for (bad in listOf(Instant.ofEpochSecond(-1), Instant.ofEpochSecond(253_402_300_800))) {
            val e = expectThrows<TokenException.Config> { UserCredentials("at", "Bearer", bad, null, null, null) }
            expect(e.detail.contains("expires_at is out of range")) { "detail ${e.detail}" }
        }
        val json = """{"access_token":"at","token_type":"Bearer","expires_at":253402300800}"""
        val e = expectThrows<TokenException.Config> { UserCredentials.fromJson(json) }
        expect(e.detail.contains("expires_at is out of range")) { "detail ${e.detail}" }
    }
}
