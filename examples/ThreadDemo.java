// Two worker threads in one JVM process, observed from inside with ThreadMXBean
// (and from outside with `jstack <pid>` while they sleep).  Run: java ThreadDemo.java [sleep ms]
// The thread counts it prints depend on the JVM version and flags; the post lists one run.
// Explained in the post posts/processes-and-threads.
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;

public class ThreadDemo {
    static final int[] counter = new int[1];        // an object on the heap: shared by all threads

    public static void main(String[] args) throws Exception {
        long sleepMs = args.length > 0 ? Long.parseLong(args[0]) : 10_000;   // time to run jstack
        Runnable work = () -> {
            int local = 0;                          // a local variable: in this thread's JVM stack
            for (int i = 0; i < 3; i++) {
                local++;
                synchronized (counter) { counter[0]++; }
            }
            try { Thread.sleep(sleepMs); } catch (InterruptedException e) { return; }
        };
        Thread a = new Thread(work, "worker-1");
        Thread b = new Thread(work, "worker-2");
        a.start();
        b.start();
        Thread.sleep(500);

        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.println("pid=" + ProcessHandle.current().pid()
                + " live=" + mx.getThreadCount() + " daemon=" + mx.getDaemonThreadCount()
                + " counter=" + counter[0]);
        for (ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {   // every thread it reports
            if (t != null) {
                System.out.println("  " + t.getThreadName() + (t.isDaemon() ? " (daemon) " : " ")
                        + t.getThreadState());
            }
        }
        a.join();
        b.join();
    }
}
