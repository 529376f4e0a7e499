// The cost of a cache hit from Kotlin (issue 13): `getTokenBlocking` + `authorizationHeader()`
// against the local issuer, beside a `ConcurrentHashMap.get` of a ready header, 1 and 8 threads.
// Run by scripts/bench.sh (scripts/bench-bindings.sh kotlin), which starts the issuer and passes
// its fixture in TK_* variables. Prints figures; checks nothing but that every call succeeds.

import com.sun.jna.Memory
import com.sun.jna.Native
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CyclicBarrier
import tokenkeeper.ClientConfig
import tokenkeeper.Credentials
import tokenkeeper.TokenClient
import tokenkeeper.TokenRequest
import tokenkeeper.tokenkeeperVersion
import tokenkeeper.use

/** libc's getpid through JNA direct mapping, as uniffi maps its functions: JNA's own floor. */
object LibC {
    init { Native.register("c") }
    external fun getpid(): Int
}

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

/**
 * Mean ns per call when calls come `gapNs` apart, as a service's outgoing requests do. In a
 * tight loop JNA 5.13's one cleaner thread falls behind (every call allocates `Memory` that
 * only it frees), its map of live allocations grows, and every call slows with it.
 */
fun pacedNsPerCall(n: Int, gapNs: Long, body: () -> Any?): Double {
    var total = 0L
    repeat(n) {
        val t0 = System.nanoTime()
        body()
        val t1 = System.nanoTime()
        total += t1 - t0
        while (System.nanoTime() - t1 < gapNs) Thread.onSpinWait()
    }
    return total.toDouble() / n
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
    // First, before the tight loops leave the cleaner behind: 10,000 hits a second.
    pacedNsPerCall(5_000, 100_000, hit) // JIT warm-up
    val paced = pacedNsPerCall(20_000, 100_000, hit)
    val base = nsPerCall(n * 50) { map[api] }
    val ours = nsPerCall(n, body = hit)
    val one = throughput(1, n, hit)
    val eight = throughput(8, n / 4, hit)
    // Where a hit's time goes: one uniffi call returning a string, the token call alone, the
    // header of a token already held.
    val getpid = nsPerCall(n * 10) { LibC.getpid() }
    val memory = nsPerCall(n) { Memory(16) }
    val version = nsPerCall(n) { tokenkeeperVersion() }
    val tokenOnly = nsPerCall(n) { client.getTokenBlocking(req).close() }
    val held = client.getTokenBlocking(req)
    val headerOnly = nsPerCall(n) { held.authorizationHeader() }
    held.close()
    // Issue 22: the same hit through a prepared request, one uniffi call and no Token object.
    val prepared = client.prepare(req)
    check(prepared.authorizationHeaderBlocking() == header)
    val oursPrepared = nsPerCall(n) { prepared.authorizationHeaderBlocking() }
    prepared.close()
    val stats = client.stats()
    check(stats.tokensMinted == 1uL) { "one token for every call: $stats" }
    println("kotlin baseline ConcurrentHashMap.get: %.1f ns/call".format(base))
    println("kotlin hit getTokenBlocking + authorizationHeader(): %.1f ns/call (%.1f× the baseline)".format(ours, ours / base))
    println("kotlin hit prepare(req).authorizationHeaderBlocking(): %.1f ns/call (%.1f× the baseline)".format(oursPrepared, oursPrepared / base))
    println("kotlin hit at 10,000 calls/s (paced, before the tight loops): %.1f ns/call".format(paced))
    println("kotlin parts: tokenkeeperVersion() %.1f ns, getTokenBlocking + close %.1f ns, authorizationHeader() of a held token %.1f ns".format(version, tokenOnly, headerOnly))
    println("kotlin JNA alone: a direct-mapped getpid() %.1f ns, new Memory(16) %.1f ns (uniffi allocates several per call)".format(getpid, memory))
    println("kotlin hit 1 thread: %.0f calls/s; 8 threads: %.0f calls/s in all (%.2f× of 1)".format(one, eight, eight / one))
    client.close()
}
