// The cost of a cache hit from Kotlin (issue 13): `getTokenBlocking` + `authorizationHeader()`
// against the local issuer, beside a `ConcurrentHashMap.get` of a ready header, 1 and 8 threads.
// Run by scripts/bench.sh (scripts/bench-bindings.sh kotlin), which starts the issuer and passes
// its fixture in TK_* variables. Prints figures; checks nothing but that every call succeeds.

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CyclicBarrier
import tokenkeeper.ClientConfig
import tokenkeeper.Credentials
import tokenkeeper.TokenClient
import tokenkeeper.TokenRequest
import tokenkeeper.use

fun env(name: String): String = System.getenv(name) ?: error("$name is not set")

/** Median ns per call of `body` over `rounds` timed runs of `n` calls, after a warm-up. */
fun nsPerCall(n: Int, rounds: Int = 7, body: () -> Any?): Double {
    repeat(n) { body() } // JIT warm-up
    val per = (1..rounds).map {
        val t0 = System.nanoTime()
        repeat(n) { body() }
        (System.nanoTime() - t0).toDouble() / n
    }.sorted()
    return per[rounds / 2]
}

/** Calls per second in all, `threads` threads each making `n` calls at once. */
fun throughput(threads: Int, n: Int, body: () -> Any?): Double {
    val barrier = CyclicBarrier(threads + 1)
    val workers = (1..threads).map { Thread { barrier.await(); repeat(n) { body() } }.apply { start() } }
    barrier.await()
    val t0 = System.nanoTime()
    workers.forEach { it.join() }
    return threads.toDouble() * n / ((System.nanoTime() - t0) / 1e9)
}

fun main() {
    val api = "https://api.example.com"
    val client = ClientConfig(
        domain = env("TK_URL"),
        clientId = env("TK_CLIENT_ID"),
        credentials = Credentials.clientSecret(env("TK_CLIENT_SECRET")),
    ).use { TokenClient(it) }
    val req = TokenRequest(api, scope = "read:things")
    val header = client.getTokenBlocking(req).use { it.authorizationHeader() }
    val map = ConcurrentHashMap(mapOf(api to header, "a" to "1", "b" to "2", "c" to "3"))
    val hit = { client.getTokenBlocking(req).use { it.authorizationHeader() } }
    check(hit() == header)
    val n = System.getenv("TK_BENCH_CALLS")?.toIntOrNull() ?: 200_000
    val base = nsPerCall(n * 50) { map[api] }
    val ours = nsPerCall(n, body = hit)
    val one = throughput(1, n, hit)
    val eight = throughput(8, n / 4, hit)
    val stats = client.stats()
    check(stats.tokensMinted == 1uL) { "one token for every call: $stats" }
    println("kotlin baseline ConcurrentHashMap.get: %.1f ns/call".format(base))
    println("kotlin hit getTokenBlocking + authorizationHeader(): %.1f ns/call (%.1f× the baseline)".format(ours, ours / base))
    println("kotlin hit 1 thread: %.0f calls/s; 8 threads: %.0f calls/s in all (%.2f× of 1)".format(one, eight, eight / one))
    client.close()
}
