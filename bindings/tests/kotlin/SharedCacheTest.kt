// The shared scenarios F-A, F-C and F-D of round 3 (the file shared cache, issue 11), which every
// surface runs with the same expected outcome, against the local issuer over real HTTP (the
// core's own tests of them are core/tests/shared_file.rs). F-B (8 processes) is not run here: a
// JVM per client is too heavy, and F-A covers the binding. Called from main() in
// TokenKeeperTest.kt (same harness and counters); SharedCache.swift runs the same scenarios.

import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.attribute.PosixFilePermission
import java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE
import java.nio.file.attribute.PosixFilePermission.OWNER_READ
import java.nio.file.attribute.PosixFilePermission.OWNER_WRITE
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import tokenkeeper.ClientConfig
import tokenkeeper.CredentialsManager
import tokenkeeper.Credentials
import tokenkeeper.SharedCache
import tokenkeeper.SignInClient
import tokenkeeper.SignInConfig
import tokenkeeper.TokenClient
import tokenkeeper.TokenException
import tokenkeeper.TokenRequest
import tokenkeeper.use

/** A client of the fixture whose process cache is off, so every call goes to the shared level. */
fun sharedClient(sharedCache: String?): TokenClient = client(sharedConfig(sharedCache))

fun sharedConfig(sharedCache: String?): ClientConfig =
    ClientConfig(
        domain = Fx.url,
        clientId = Fx.clientId,
        credentials = Credentials.clientSecret(Fx.clientSecret),
        http = fastRetries(),
        cacheEnabled = false,
        sharedCache = sharedCache?.let { SharedCache(it) },
    )

/** Runs `body` with a fresh temporary directory, removed (with everything in it) afterwards. */
fun <T> withTempDir(body: (Path) -> T): T {
    val base = Files.createTempDirectory("tokenkeeper-kotlin-shared-")
    try {
        return body(base)
    } finally {
        base.toFile().deleteRecursively()
    }
}

fun sharedCacheTests() {
    test("G2 a sign-in app on a shared level publishes its renewals there (one grant per refresh token for the fleet)") {
        val dir = Files.createTempDirectory("tk-g2-")
        try {
            val level = dir.resolve("level")
            val config = SignInConfig(domain = Fx.url, clientId = Fx.publicClientId, redirectUri = Fx.redirectUri,
                sharedCache = SharedCache("file:$level"))
            config.use { SignInClient(it) }.use { app ->
                val first = signIn(app).let { (tx, c) -> tx.close(); c }
                CredentialsManager(app, RecordingStorage()).use { m ->
                    m.save(first)
                    val before = Admin.count("grant:refresh_token")
                    m.renewBlocking().use { expect(it.refreshToken() != first.refreshToken()) { "the refresh token rotated" } }
                    expectEq(1L, Admin.count("grant:refresh_token") - before, "refresh grants")
                }
                first.close()
            }
            val files = level.toFile().listFiles()?.size ?: 0
            expect(files >= 2) { "the outcome and its lock on the level: $files files" }
        } finally {
            dir.toFile().deleteRecursively()
        }
    }

    test("F-A shared within one process: two clients, 1 request, same token, a private sealed directory") {
        withTempDir { base ->
            // The core creates the directory itself (mode 0700).
            val dir = base.resolve("cache")
            val aud = Admin.newApi()
            val req = TokenRequest(aud)
            val before = Admin.tokenRequests()
            sharedClient("file:$dir").use { a ->
                sharedClient("file:$dir").use { b ->
                    val t1 = a.getTokenBlocking(req)
                    // The second client through the suspend form: the same shared entry.
                    val t2 = runBlocking { withTimeout(20_000) { b.getToken(req) } }
                    expectEq(t1.accessToken(), t2.accessToken(), "the second client's access token")
                    expectEq(1L, Admin.tokenRequests() - before, "token requests")
                    val sa = a.stats()
                    val sb = b.stats()
                    expectEq(1uL, sa.tokensMinted, "first client: tokens minted")
                    expectEq(0uL, sa.sharedHits, "first client: shared hits")
                    expectEq(0uL, sb.tokensMinted, "second client: tokens minted")
                    expectEq(1uL, sb.sharedHits, "second client: shared hits")
                    expectEq(0uL, sb.sharedErrors, "second client: shared errors")
                    expectEq(0uL, sa.sharedErrors, "first client: shared errors")

                    expectEq(setOf(OWNER_READ, OWNER_WRITE, OWNER_EXECUTE), Files.getPosixFilePermissions(dir), "directory mode")
                    val files = dir.toFile().listFiles()!!.map { it.toPath() }
                    expect(files.isNotEmpty()) { "no file in the shared directory" }
                    val secrets = listOf(t1.accessToken(), Fx.clientSecret, Fx.clientId, aud)
                    for (f in files) {
                        val name = f.fileName.toString()
                        expect(Files.isRegularFile(f)) { "$name is not a regular file" }
                        expectEq(setOf<PosixFilePermission>(OWNER_READ, OWNER_WRITE), Files.getPosixFilePermissions(f), "mode of $name")
                        // Every byte as one char, so a match is a byte-for-byte match.
                        val body = String(Files.readAllBytes(f), Charsets.ISO_8859_1)
                        for ((i, s) in secrets.withIndex()) {
                            expect(!name.contains(s)) { "the name $name shows secret #$i" }
                            expect(!body.contains(s)) { "$name holds secret #$i in plain text" }
                        }
                    }
                    t1.close()
                    t2.close()
                }
            }
        }
    }

    test("F-A invalidate also forgets the shared entry: the next client fetches (2 requests)") {
        withTempDir { base ->
            val shared = "file:${base.resolve("cache")}"
            val req = TokenRequest(Admin.newApi())
            val before = Admin.tokenRequests()
            sharedClient(shared).use { a -> a.getTokenBlocking(req).close(); a.invalidate(req) }
            sharedClient(shared).use { b ->
                b.getTokenBlocking(req).close()
                expectEq(0uL, b.stats().sharedHits, "shared hits after invalidate")
            }
            expectEq(2L, Admin.tokenRequests() - before, "token requests")
        }
    }

    test("F-C an unusable directory never fails getToken: a regular file as the directory") {
        withTempDir { base ->
            val file = base.resolve("not-a-directory")
            Files.write(file, "not a directory".toByteArray())
            val req = TokenRequest(Admin.newApi())
            val before = Admin.tokenRequests()
            sharedClient("file:$file").use { c ->
                c.getTokenBlocking(req).close()
                runBlocking { withTimeout(20_000) { c.getToken(req) } }.close()
                expectEq(2L, Admin.tokenRequests() - before, "token requests (no cache at all)")
                val s = c.stats()
                expect(s.sharedErrors >= 1uL) { "shared errors: ${s.sharedErrors}" }
                expectEq(0uL, s.errors, "errors")
                expectEq(2uL, s.tokensMinted, "tokens minted")
            }
            expectEq("not a directory", String(Files.readAllBytes(file)), "the file is untouched")
        }
    }

    test("F-D bad shared cache strings are Config when the client is built") {
        for (bad in listOf("redis://127.0.0.1:notaport/0", "nope", "file:", "file:relative/dir")) {
            val e = expectThrows<TokenException.Config> { sharedClient(bad).close() }
            expect(e.detail.isNotEmpty()) { "\"$bad\": empty detail" }
        }
        val redis = expectThrows<TokenException.Config> { sharedClient("redis://127.0.0.1:notaport/0").close() }
        expect(redis.detail.contains("Redis")) { "the Redis detail: ${redis.detail}" }
        // null (the default), "" and blank are off: no shared level, nothing counted.
        for (off in listOf(null, "", "  ")) {
            sharedClient(off).use { c ->
                c.getTokenBlocking(TokenRequest(Fx.API)).close()
                expectEq(0uL, c.stats().sharedHits + c.stats().sharedErrors, "shared counters with \"$off\"")
            }
        }
    }

    test("N11: a Redis password shows in no ClientConfig text, and no unparsable URL is echoed") {
        val config = sharedConfig("redis://:hunter2@127.0.0.1:6379/0")
        expect(!config.toString().contains("hunter2")) { "ClientConfig.toString(): $config" }
        val level = config.sharedCache!!
        expect(!level.toString().contains("hunter2") && level.toString().contains("redacted")) { "SharedCache: $level" }
        val e = expectThrows<TokenException.Config> {
            client(config.copy(sharedCache = null, domain = "https://user:hunter2@tenant.example.com:99999/")).close()
        }
        expect(!e.detail.contains("hunter2") && e.detail.contains("[redacted]")) { "the detail: ${e.detail}" }
    }

    test("Redis: two clients share one token through sharedCache = \"redis://…\"") {
        // The run's Redis (bindings/test-kotlin.sh starts it): a missing Redis fails, never skips.
        val url = System.getenv("TOKENKEEPER_TEST_REDIS_URL")
        expect(!url.isNullOrEmpty()) { "TOKENKEEPER_TEST_REDIS_URL is not set" }
        val req = TokenRequest(Admin.newApi())
        val before = Admin.tokenRequests()
        sharedClient(url).use { a ->
            sharedClient(url).use { b ->
                val t1 = a.getTokenBlocking(req)
                val t2 = b.getTokenBlocking(req)
                expectEq(t1.accessToken(), t2.accessToken(), "the second client's access token")
                expectEq(1L, Admin.tokenRequests() - before, "token requests")
                expectEq(1uL, b.stats().sharedHits, "shared hits")
                expectEq(0uL, b.stats().sharedErrors, "shared errors")
                t1.close()
                t2.close()
            }
        }
    }
}
