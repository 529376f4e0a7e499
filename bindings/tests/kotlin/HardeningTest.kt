// The shared scenarios H-A..H-D of round 2 (hardening, issue 12), which every surface runs with
// the same expected outcome, against the local issuer over real HTTP (the core's own tests of
// them are core/tests/hardening.rs). Called from main() in TokenKeeperTest.kt (same harness and
// counters); Hardening.swift runs the same scenarios in Swift.

import java.time.Duration
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import tokenkeeper.AuthMethod
import tokenkeeper.AuthorizeParams
import tokenkeeper.ClientConfig
import tokenkeeper.Credentials
import tokenkeeper.HttpOptions
import tokenkeeper.SignInClient
import tokenkeeper.SigningAlg
import tokenkeeper.TokenCheck
import tokenkeeper.TokenClient
import tokenkeeper.TokenException
import tokenkeeper.TokenRequest
import tokenkeeper.TokenVerifier
import tokenkeeper.use

/** Retries with short waits, as the core's tests use (`fast_retries`). */
fun fastRetries(maxAttempts: UInt = 3u) =
    HttpOptions(maxAttempts = maxAttempts, initialBackoff = Duration.ofMillis(20), maxBackoff = Duration.ofMillis(100))

/** A `private_key_jwt` client (RS256) of the fixture. */
fun keyClient(http: HttpOptions): TokenClient =
    client(ClientConfig(domain = Fx.url, clientId = Fx.jwtClientId, credentials = Credentials.privateKey(Fx.rsaKey, SigningAlg.RS256), http = http))

/** Claims of a good access token for the API. */
fun accessClaims(extra: String = ""): String {
    val t = now()
    return """{"iss":"${Fx.issuer}","aud":"${Fx.API}","sub":"h-c@clients","iat":$t,"exp":${t + 600}$extra}"""
}

/** libc's environment, which the library reads (the JVM's `System.getenv` is a copy). */
interface LibC : com.sun.jna.Library {
    fun setenv(name: String, value: String, overwrite: Int): Int
    fun unsetenv(name: String): Int
}

val libc: LibC = com.sun.jna.Native.load("c", LibC::class.java)

fun env(vararg vars: Pair<String, String?>) {
    for ((k, v) in vars) if (v == null) libc.unsetenv(k) else libc.setenv(k, v, 1)
}

fun hardeningTests() {
    test("V1 the credential from a file the environment names: a secret or a private key, exactly one") {
        val dir = java.nio.file.Files.createTempDirectory("tk-v1-")
        val secret = dir.resolve("secret").also { java.nio.file.Files.writeString(it, Fx.clientSecret + "\n") }
        val key = dir.resolve("key.pem").also { java.nio.file.Files.writeString(it, Fx.rsaKey) }
        try {
            env("AUTH0_DOMAIN" to Fx.url, "AUTH0_CLIENT_ID" to Fx.clientId, "AUTH0_CLIENT_SECRET" to null,
                "AUTH0_CLIENT_SECRET_FILE" to secret.toString(), "AUTH0_AUDIENCE" to Fx.API)
            TokenClient.fromEnv().use { c -> c.getTokenBlocking(TokenRequest()).close() }
            env("AUTH0_CLIENT_ID" to Fx.jwtClientId, "AUTH0_CLIENT_SECRET_FILE" to null, "AUTH0_PRIVATE_KEY_FILE" to key.toString())
            TokenClient.fromEnv().use { c ->
                expectEq(AuthMethod.PRIVATE_KEY_JWT, c.authMethod(), "auth method")
                c.getTokenBlocking(TokenRequest()).close()
            }
            env("AUTH0_CLIENT_SECRET" to "also-a-secret")
            val both = expectThrows<TokenException.Config> { TokenClient.fromEnv().close() }
            expect(both.toString().contains("AUTH0_PRIVATE_KEY_FILE") && !both.toString().contains("also-a-secret")) { "$both" }
            env("AUTH0_CLIENT_SECRET" to null, "AUTH0_PRIVATE_KEY_FILE" to "/nonexistent/tk-key.pem")
            val missing = expectThrows<TokenException.Config> { TokenClient.fromEnv().close() }
            expect(missing.toString().contains("AUTH0_PRIVATE_KEY_FILE \"/nonexistent/tk-key.pem\"")) { "$missing" }
        } finally {
            env("AUTH0_DOMAIN" to null, "AUTH0_CLIENT_ID" to null, "AUTH0_PRIVATE_KEY_FILE" to null,
                "AUTH0_CLIENT_SECRET_FILE" to null, "AUTH0_AUDIENCE" to null)
            dir.toFile().deleteRecursively()
        }
    }

    test("V2 a verifier and a sign-in app from the environment: no credential is public, a secret file confidential") {
        val dir = java.nio.file.Files.createTempDirectory("tk-v2-")
        val secret = dir.resolve("secret").also { java.nio.file.Files.writeString(it, Fx.webClientSecret + "\n") }
        try {
            env("AUTH0_DOMAIN" to Fx.url, "AUTH0_CLIENT_ID" to Fx.clientId, "AUTH0_CLIENT_SECRET" to Fx.clientSecret,
                "AUTH0_AUDIENCE" to Fx.API, "AUTH0_REDIRECT_URI" to null, "AUTH0_SCOPE" to null)
            val token = TokenClient.fromEnv().use { c -> c.getTokenBlocking(TokenRequest()).use { it.accessToken() } }
            TokenVerifier.fromEnv().use { v -> v.verifyBlocking(token).use { expectEq(listOf(Fx.API), it.aud(), "aud") } }
            env("AUTH0_CLIENT_ID" to Fx.publicClientId, "AUTH0_CLIENT_SECRET" to null)
            val noRedirect = expectThrows<TokenException.Config> { SignInClient.fromEnv().close() }
            expect(noRedirect.toString().contains("AUTH0_REDIRECT_URI")) { "$noRedirect" }
            env("AUTH0_REDIRECT_URI" to Fx.redirectUri, "AUTH0_SCOPE" to "openid email read:things")
            SignInClient.fromEnv().use { public ->
                val tx = public.authorize(AuthorizeParams())
                expectEq("openid email read:things offline_access", tx.scope(), "scope")
                public.handleCallbackBlocking(tx, browse(tx.url())).use { expect(it.hasScope("read:things")) { "read:things" } }
            }
            env("AUTH0_CLIENT_ID" to Fx.webClientId, "AUTH0_CLIENT_SECRET_FILE" to secret.toString())
            val before = Admin.count("auth:client_secret_post")
            SignInClient.fromEnv().use { web ->
                val tx = web.authorize(AuthorizeParams())
                web.handleCallbackBlocking(tx, browse(tx.url())).close()
            }
            expectEq(1L, Admin.count("auth:client_secret_post") - before, "the exchange sent the file's secret")
            env("AUTH0_DOMAIN" to null)
            val noDomain = expectThrows<TokenException.Config> { TokenVerifier.fromEnv().close() }
            expect(noDomain.toString().contains("AUTH0_DOMAIN")) { "$noDomain" }
        } finally {
            env("AUTH0_DOMAIN" to null, "AUTH0_CLIENT_ID" to null, "AUTH0_CLIENT_SECRET" to null, "AUTH0_AUDIENCE" to null,
                "AUTH0_REDIRECT_URI" to null, "AUTH0_SCOPE" to null, "AUTH0_CLIENT_SECRET_FILE" to null)
            dir.toFile().deleteRecursively()
        }
    }

    test("C1 a far date (exp 1e308) verifies and reads as 9999-12-31T23:59:59Z") {
        val t = now()
        verifier().use { v ->
            v.verifyBlocking(signed("""{"iss":"${Fx.issuer}","aud":"${Fx.API}","sub":"c1","iat":${t - 10},"exp":1e308}""")).use { c ->
                expectEq(java.time.Instant.parse("9999-12-31T23:59:59Z"), c.exp(), "exp")
                expectEq(java.time.Instant.ofEpochSecond(t - 10), c.iat(), "iat")
            }
        }
    }

    test("E1 errors carry the core: kind, transient, HTTP status, check name and the core's message") {
        val limited = faulted<TokenException.RateLimited>(
            """{"endpoint":"token","status":429,"body":"{\"error\":\"too_many_requests\",\"error_description\":\"Global limit has been reached\"}","headers":[["retry-after","120"]]}""",
        )
        expectEq("rate_limited", limited.kind(), "429 kind")
        expect(limited.isTransient()) { "a 429 is transient" }
        expectEq(429.toUShort(), limited.httpStatus(), "429 status")
        expectEq("rate limited by the server (HTTP 429), retry after 120.0 s (Global limit has been reached)", limited.toString(), "429 text")
        val denied = faulted<TokenException.OAuth>(
            """{"endpoint":"token","status":403,"body":"{\"error\":\"access_denied\",\"error_description\":\"Service not enabled within domain\"}"}""",
        )
        expectEq("oauth", denied.kind(), "403 kind")
        expect(!denied.isTransient()) { "a 403 is not transient" }
        expectEq(403.toUShort(), denied.httpStatus(), "403 status")
        expectEq(null, denied.checkName(), "no check")
        expectEq("OAuth error from the server (HTTP 403): access_denied (Service not enabled within domain)", denied.toString(), "403 text")
        val v = verifier()
        val t = now()
        val expired = expectThrows<TokenException.InvalidToken> {
            v.verifyBlocking(signed("""{"iss":"${Fx.issuer}","aud":"${Fx.API}","sub":"e1","iat":${t - 7200},"exp":${t - 3600}}""")).close()
        }
        expectEq("invalid_token", expired.kind(), "expired kind")
        expectEq("expired", expired.checkName(), "check name")
        expectEq(null, expired.httpStatus(), "no HTTP status")
        expect(expired.toString().startsWith("invalid token (expired): ")) { "expired text: $expired" }
        v.close()
    }

    test("H-A 429 remembered: 100 calls after a 429 (Retry-After 3600) are RateLimited, 1 request") {
        val aud = Admin.newApi()
        client(config(http = fastRetries())).use { c ->
            val other = TokenRequest(aud, scope = "read:things")
            val held = c.getTokenBlocking(other)
            val req = TokenRequest(aud)
            val before = Admin.tokenRequests()
            Admin.fault("""{"endpoint":"token","status":429,"body":"{\"error\":\"too_many_requests\",\"error_description\":\"Global limit has been reached\"}","headers":[["retry-after","3600"]]}""")
            for (n in 0 until 100) {
                // Half blocking, half suspend: one rule for both.
                val e = expectThrows<TokenException.RateLimited> {
                    if (n % 2 == 0) c.getTokenBlocking(req) else runBlocking { withTimeout(10_000) { c.getToken(req) } }
                }
                val left = e.retryAfterSeconds
                expect(left != null && left > 3500.0) { "call $n: retry after $left" }
            }
            expectEq(1L, Admin.tokenRequests() - before, "token requests for 100 calls after a 429")
            // Another key of the same client is not limited: its valid token is still served.
            c.getTokenBlocking(other).use { expect(it.isSame(held)) { "the other scope's token from the cache" } }
            expectEq(1L, Admin.tokenRequests() - before, "token requests")
            held.close()
        }
        // Once Retry-After has passed, a request goes out again (no retries, so the transport
        // does not wait out the short Retry-After itself).
        client(config(http = HttpOptions(maxAttempts = 1u))).use { c ->
            val short = TokenRequest(aud, scope = "write:things")
            val before = Admin.tokenRequests()
            Admin.fault("""{"endpoint":"token","status":429,"body":"{\"error\":\"too_many_requests\"}","headers":[["retry-after","1"]]}""")
            expectThrows<TokenException.RateLimited> { c.getTokenBlocking(short) }
            expectThrows<TokenException.RateLimited> { c.getTokenBlocking(short) }
            expectEq(1L, Admin.tokenRequests() - before, "token requests while limited")
            Thread.sleep(1100)
            c.getTokenBlocking(short).close()
            expectEq(2L, Admin.tokenRequests() - before, "token requests once Retry-After passed")
        }
    }

    test("H-B new assertion per attempt: a 503 after handling, then the retry succeeds (2 requests)") {
        keyClient(fastRetries(maxAttempts = 2u)).use { c ->
            // The first attempt is handled (its jti spent), but its answer is lost to a 503.
            val fault = """{"endpoint":"token","status":503,"body":"{\"error\":\"temporarily_unavailable\"}","after_handling":true}"""
            var before = Admin.tokenRequests()
            Admin.fault(fault)
            c.getTokenBlocking(TokenRequest(Admin.newApi())).use { expectEq(3, jwtParts(it.accessToken()), "token") }
            expectEq(2L, Admin.tokenRequests() - before, "token requests (blocking)")
            before = Admin.tokenRequests()
            Admin.fault(fault)
            runBlocking { withTimeout(20_000) { c.getToken(TokenRequest(Admin.newApi())).close() } }
            expectEq(2L, Admin.tokenRequests() - before, "token requests (suspend)")
        }
    }

    test("H-C typ: at+jwt verifies; an ID token's claims or typ logout+jwt are TOKEN_TYPE") {
        verifier().use { v ->
            for (typ in listOf("JWT", "at+jwt", "application/at+JWT")) {
                v.verifyBlocking(signed(accessClaims(), """{"typ":"$typ"}""")).use { expectEq("h-c@clients", it.sub(), "sub with typ $typ") }
            }
            for (typ in listOf("logout+jwt", "id_token+jwt")) {
                expectEq(TokenCheck.TOKEN_TYPE, rejected { v.verifyBlocking(signed(accessClaims(), """{"typ":"$typ"}""")) }, "typ $typ")
            }
            // An ID token (nonce, at_hash or c_hash) sent to an API whose audience it names.
            for (claim in listOf(""","nonce":"n-1","auth_time":${now()}""", ""","at_hash":"x"""", ""","c_hash":"x"""")) {
                expectEq(TokenCheck.TOKEN_TYPE, rejected { v.verifyBlocking(signed(accessClaims(claim))) }, "access token with $claim")
            }
            val e = expectThrows<TokenException.InvalidToken> { runBlocking { v.verify(signed(accessClaims(""","nonce":"n-2""""))) } }
            expectEq(TokenCheck.TOKEN_TYPE, e.check, "suspend verify")
        }
        // An access token (at+jwt) offered as an ID token; azp, when present, is the client.
        verifier(audience = Fx.publicClientId).use { ids ->
            val t = now()
            val id = """{"iss":"${Fx.issuer}","aud":"${Fx.publicClientId}","sub":"auth0|u","iat":$t,"exp":${t + 600}"""
            expectEq(TokenCheck.TOKEN_TYPE, rejected { ids.verifyIdTokenBlocking(signed("$id}", """{"typ":"at+jwt"}"""), null, null) }, "at+jwt as an ID token")
            ids.verifyIdTokenBlocking(signed("$id}"), null, null).use { expectEq("auth0|u", it.sub(), "ID token sub") }
            expectEq(
                TokenCheck.AUTHORIZED_PARTY,
                rejected { ids.verifyIdTokenBlocking(signed("""$id,"azp":"someone-else"}"""), null, null) },
                "azp of another client",
            )
        }
    }

    test("H-D invalidateIfCurrent: drops T1 once, never the newer T2 (2 requests)") {
        val aud = Admin.newApi()
        client().use { c ->
            val req = TokenRequest(aud)
            val before = Admin.tokenRequests()
            val t1 = c.getTokenBlocking(req)
            expectEq(true, c.invalidateIfCurrent(req, t1), "invalidateIfCurrent(T1) while T1 is cached")
            expect(c.cached(req) == null) { "nothing cached after invalidateIfCurrent" }
            val t2 = c.getTokenBlocking(req)
            expect(!t2.isSame(t1) && t2.accessToken() != t1.accessToken()) { "a new token T2" }
            expectEq(false, c.invalidateIfCurrent(req, t1), "invalidateIfCurrent(T1) once T2 is cached")
            c.cached(req).use { expect(it != null && it.isSame(t2)) { "T2 still cached" } }
            c.getTokenBlocking(req).use { expect(it.isSame(t2)) { "T2 served" } }
            expectEq(2L, Admin.tokenRequests() - before, "token requests")
            // Another request's token is not T1's key: nothing to drop.
            expectEq(false, c.invalidateIfCurrent(TokenRequest(aud, scope = "read:things"), t2), "another key")
            // No audience and no default audience: false (as invalidate() ignores it).
            expectEq(false, c.invalidateIfCurrent(TokenRequest(), t2), "request without an audience")
            c.cached(req).use { expect(it != null && it.isSame(t2)) { "T2 still cached" } }
            t1.close(); t2.close()
        }
    }
}
