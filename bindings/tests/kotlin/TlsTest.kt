// HTTPS with an extra CA (issue 12, item 10), the scenario every surface runs: a token from the
// TLS issuer (test-kotlin.sh starts it with --tls: TK_TLS_*) with `HttpOptions(caFile = …)`, and a
// typed Network error naming the unknown issuer without it; an unreadable CA file is a Config
// error when the client is built. Called from main() in TokenKeeperTest.kt; Tls.swift runs the
// same scenario.

import java.nio.file.Files
import tokenkeeper.ClientConfig
import tokenkeeper.Credentials
import tokenkeeper.HttpOptions
import tokenkeeper.TokenClient
import tokenkeeper.TokenException
import tokenkeeper.TokenRequest
import tokenkeeper.use

object TlsFx {
    private fun env(name: String): String =
        System.getenv(name)?.takeIf { it.isNotEmpty() } ?: error("$name is not set (run bindings/test-kotlin.sh)")

    val url = env("TK_TLS_URL")
    val clientId = env("TK_TLS_CLIENT_ID")
    val clientSecret = env("TK_TLS_CLIENT_SECRET")
    val caPem = env("TK_TLS_CA_PEM")
}

fun tlsClient(caFile: String?): TokenClient =
    client(
        ClientConfig(
            domain = TlsFx.url,
            clientId = TlsFx.clientId,
            credentials = Credentials.clientSecret(TlsFx.clientSecret),
            http = HttpOptions(maxAttempts = 1u, caFile = caFile),
            // Every call a request: a token cached by the trusting client must not answer.
            cacheEnabled = false,
        ),
    )

fun tlsTests() {
    test("TLS: a token with caFile set, a Network error (unknown issuer) without it") {
        val ca = Files.createTempFile("tokenkeeper-kotlin-ca-", ".pem")
        try {
            Files.writeString(ca, TlsFx.caPem)
            tlsClient(ca.toString()).use { c ->
                c.getTokenBlocking(TokenRequest(Fx.API)).use { t ->
                    expectEq(3, t.accessToken().split('.').size, "JWT segments")
                }
            }
            tlsClient(null).use { c ->
                val e = expectThrows<TokenException.Network> { c.getTokenBlocking(TokenRequest(Fx.API)).close() }
                expect(e.toString().contains("unknown issuer")) { "message: $e" }
                expect(!e.toString().contains(TlsFx.clientSecret)) { "a secret in: $e" }
            }
            val missing = ca.resolveSibling("${ca.fileName}.missing").toString()
            val e = expectThrows<TokenException.Config> { tlsClient(missing).close() }
            expect(e.toString().contains("ca_file")) { "message: $e" }
        } finally {
            Files.deleteIfExists(ca)
        }
    }
}
