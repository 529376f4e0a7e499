// A user of the packaged jar (scripts/package-kotlin.sh): compiled and run with only that jar,
// JNA and kotlinx-coroutines on the classpath and no library path (bindings/test-kotlin.sh).
// Gets a token from the local issuer, blocking and suspending.

import kotlinx.coroutines.runBlocking
import tokenkeeper.ClientConfig
import tokenkeeper.Credentials
import tokenkeeper.TokenClient
import tokenkeeper.TokenRequest
import tokenkeeper.tokenkeeperVersion
import tokenkeeper.use

fun main() {
    val env = { name: String -> System.getenv(name) ?: error("$name is not set") }
    check(System.getProperty("jna.library.path") == null) { "no library path" }
    val client = ClientConfig(
        domain = env("TK_URL"),
        clientId = env("TK_CLIENT_ID"),
        credentials = Credentials.clientSecret(env("TK_CLIENT_SECRET")),
    ).use { TokenClient(it) }
    val req = TokenRequest("https://api.example.com", scope = "read:things")
    val header = client.getTokenBlocking(req).use { it.authorizationHeader() }
    check(header.startsWith("Bearer ey")) { "a JWT bearer header" }
    val again = runBlocking { client.getToken(req) }.use { it.authorizationHeader() }
    check(again == header) { "the second call is a cache hit" }
    check(tokenkeeperVersion() == env("TK_EXPECTED_VERSION")) { "the workspace version" }
    client.close()
    println("jar: a token from ${env("TK_URL")} with only the jar, JNA and coroutines")
}
