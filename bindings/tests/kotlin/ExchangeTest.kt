// Token exchange through the cache: the scenario of core/tests/exchange.rs and
// python/tests/test_exchange.py (On-Behalf-Of, Custom Token Exchange, Token Vault; one request per
// subject, never cached past the subject's `exp`, the `act` chain through the verifier), against
// the local issuer over real HTTP. Called from main() in TokenKeeperTest.kt; Exchange.swift runs
// the same scenario.

import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import tokenkeeper.TokenCheck
import tokenkeeper.TokenException
import tokenkeeper.use

const val ACCESS = "urn:ietf:params:oauth:token-type:access_token"

object ExchangeFx {
    private fun env(name: String): String =
        System.getenv(name)?.takeIf { it.isNotEmpty() } ?: error("$name is not set (run bindings/test-kotlin.sh)")

    /** The fixture's Custom Token Exchange profile: its type and the one subject it accepts. */
    val cteType = env("TK_EXCHANGE_SUBJECT_TOKEN_TYPE")
    val cteToken = env("TK_EXCHANGE_SUBJECT_TOKEN")
    /** A Token Vault connection of the fixture. */
    val vaultConnection = env("TK_VAULT_CONNECTION")
}

/** A user's access token for the fixture's API, signed by the issuer; `extra` are more JSON members. */
fun userToken(lifetime: Long = 3600, sub: String = Fx.userSub, extra: String = "", exp: Long? = null): String {
    val n = now()
    val more = if (extra.isEmpty()) "" else ",$extra"
    return signed("""{"iss":"${Fx.issuer}","sub":"$sub","aud":"${Fx.API}","iat":$n,"exp":${exp ?: (n + lifetime)},"scope":"read:things"$more}""")
}

fun exchangeTests() {
    test("X on-behalf-of is cached per subject: same token for the same subject and scope set, another for another subject") {
        val downstream = Admin.newApi()
        val before = Admin.count("grant:token_exchange:obo")
        client().use { c ->
            val alice = userToken()
            val t = c.exchangeBlocking(alice, ACCESS, audience = downstream, scope = "write:things read:things")
            verifier(downstream).use { v ->
                v.verifyBlocking(t.accessToken()).use { claims ->
                    expectEq(Fx.userSub, claims.sub(), "sub")
                    expectEq(listOf(downstream), claims.aud(), "aud")
                    expectEq(listOf("${Fx.clientId}@clients"), claims.actorChain(), "act chain")
                }
            }
            c.exchangeBlocking(alice, ACCESS, audience = downstream, scope = "read:things write:things read:things").use {
                expectEq(t.accessToken(), it.accessToken(), "the second exchange of alice (a hit)")
            }
            c.exchangeBlocking(userToken(sub = "auth0|bob"), ACCESS, audience = downstream).use { bob ->
                verifier(downstream).use { v -> v.verifyBlocking(bob.accessToken()).use { expectEq("auth0|bob", it.sub(), "bob's sub") } }
            }
            expectEq(2L, Admin.count("grant:token_exchange:obo") - before, "OBO exchanges sent")
            t.close()
        }
    }

    test("X 100 concurrent exchanges of one subject send one request") {
        val downstream = Admin.newApi()
        val before = Admin.count("grant:token_exchange:obo")
        client().use { c ->
            val subject = userToken()
            val pool = Executors.newFixedThreadPool(16)
            try {
                val tokens = (1..100).map { pool.submit<String> { c.exchangeBlocking(subject, ACCESS, audience = downstream).use { it.accessToken() } } }
                    .map { it.get(20, TimeUnit.SECONDS) }
                expectEq(1, tokens.toSet().size, "distinct tokens")
            } finally {
                pool.shutdownNow()
            }
        }
        expectEq(1L, Admin.count("grant:token_exchange:obo") - before, "OBO exchanges sent")
    }

    test("X never cached past the subject's exp; an expired subject is refused before any request") {
        val downstream = Admin.newApi()
        client().use { c ->
            val subject = userToken(lifetime = 30)
            c.exchangeBlocking(subject, ACCESS, audience = downstream).use { t ->
                expect(t.expiresIn() <= 30uL) { "expiresIn ${t.expiresIn()} > 30" }
                expect(t.expiresAt().epochSecond <= now() + 30) { "expires at ${t.expiresAt()}, after the subject" }
            }
            val before = Admin.tokenRequests()
            val e = expectThrows<TokenException.InvalidToken> {
                c.exchangeBlocking(userToken(exp = now() - 5), ACCESS, audience = downstream).close()
            }
            expectEq(TokenCheck.EXPIRED, e.check, "check")
            expectEq(0L, Admin.tokenRequests() - before, "token requests")
        }
    }

    test("X an actor token: the act chain through the verifier; an actor without its type is Config") {
        val downstream = Admin.newApi()
        client().use { c ->
            val subject = userToken(extra = """"act":{"sub":"first-hop"}""")
            val agent = userToken(sub = "agent|7")
            c.exchangeBlocking(subject, ACCESS, audience = downstream, actorToken = agent, actorTokenType = ACCESS).use { t ->
                verifier(downstream).use { v ->
                    v.verifyBlocking(t.accessToken()).use { expectEq(listOf("agent|7", "first-hop"), it.actorChain(), "act chain") }
                }
            }
            expectThrows<TokenException.Config> { c.exchangeBlocking(subject, ACCESS, audience = downstream, actorToken = agent).close() }
        }
    }

    test("X custom token exchange and its refusals") {
        val downstream = Admin.newApi()
        client().use { c ->
            c.exchangeBlocking(ExchangeFx.cteToken, ExchangeFx.cteType, audience = downstream).use { t ->
                verifier(downstream).use { v -> v.verifyBlocking(t.accessToken()).use { expectEq(Fx.userSub, it.sub(), "sub") } }
            }
            val forged = expectThrows<TokenException.OAuth> { c.exchangeBlocking("forged", ExchangeFx.cteType, audience = downstream).close() }
            expectEq("invalid_grant" to 403.toUShort(), forged.error to forged.status, "a subject the profile refuses")
            val unknown = expectThrows<TokenException.OAuth> { c.exchangeBlocking("x", "urn:example:nobody", audience = downstream).close() }
            expectEq("invalid_request", unknown.error, "an unknown subject type")
            expectThrows<TokenException.Config> { c.exchangeBlocking("x", "not a uri", audience = downstream).close() }
        }
    }

    test("X token vault: a federated connection's token, cached; a foreign login_hint is refused") {
        val before = Admin.count("grant:token_vault")
        client().use { c ->
            // A subject of its own (a unique sub), so the cache is cold for it.
            val subject = userToken(extra = """"jti":"kotlin-${System.nanoTime()}"""")
            val conn = ExchangeFx.vaultConnection
            val t = c.exchangeBlocking(subject, ACCESS, connection = conn, loginHint = Fx.userEmail)
            expect(t.accessToken().startsWith("fca.$conn.")) { "not a token of $conn" }
            c.exchangeBlocking(subject, ACCESS, connection = conn, loginHint = Fx.userEmail).use {
                expectEq(t.accessToken(), it.accessToken(), "the second vault exchange (a hit)")
            }
            expectEq(1L, Admin.count("grant:token_vault") - before, "vault exchanges sent")
            val e = expectThrows<TokenException.OAuth> {
                c.exchangeBlocking(subject, ACCESS, connection = conn, loginHint = "mallory@example.com").close()
            }
            expectEq("invalid_grant", e.error, "error")
            // An API refused the token: forgotten once, then the next exchange asks again.
            expect(c.invalidateExchangeIfCurrent(t, subject, ACCESS, connection = conn, loginHint = Fx.userEmail)) { "not forgotten" }
            expect(!c.invalidateExchangeIfCurrent(t, subject, ACCESS, connection = conn, loginHint = Fx.userEmail)) { "forgotten twice" }
            c.exchangeBlocking(subject, ACCESS, connection = conn, loginHint = Fx.userEmail).close()
            // Mallory's refused request counts too.
            expectEq(3L, Admin.count("grant:token_vault") - before, "vault exchanges after the invalidation")
            t.close()
        }
    }

    test("X suspend exchange: 20 concurrent coroutines, one request, then a hit") {
        val downstream = Admin.newApi()
        val before = Admin.count("grant:token_exchange:obo")
        client().use { c ->
            val subject = userToken()
            val tokens = runBlocking {
                withTimeout(20_000) {
                    (1..20).map { async { c.exchange(subject, ACCESS, audience = downstream).use { it.accessToken() } } }.awaitAll()
                }
            }
            expectEq(1, tokens.toSet().size, "distinct tokens")
            c.exchangeBlocking(subject, ACCESS, audience = downstream).use { expectEq(tokens[0], it.accessToken(), "the blocking hit") }
        }
        expectEq(1L, Admin.count("grant:token_exchange:obo") - before, "OBO exchanges sent")
    }
}
