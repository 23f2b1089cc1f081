// Rust's standard library waits on futexes through libc's syscall():
// Mutex, Condvar, mpsc channels and thread::park. Built by
// tests/test_futex.py with Debian's rustc (no cargo).
//
//   waits leak      two threads left blocked at exit: one in a channel
//                   recv nobody sends to, one on a Mutex whose holder
//                   parks forever while holding it (three leaks)
//   waits clean     the same primitives used correctly, everything joined
//   waits deadlock  two threads take two Mutexes in opposite orders
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

#[inline(never)]
fn wait_on_channel(receiver: mpsc::Receiver<u32>) {
    let _ = receiver.recv();
}

#[inline(never)]
fn hold_forever(lock: Arc<Mutex<u32>>, held: Arc<Barrier>) {
    let _guard = lock.lock().unwrap();
    held.wait();
    loop {
        thread::park();
    }
}

#[inline(never)]
fn wait_on_mutex(lock: Arc<Mutex<u32>>) {
    let _guard = lock.lock().unwrap();
}

fn leak() {
    let (sender, receiver) = mpsc::channel::<u32>();
    thread::spawn(move || wait_on_channel(receiver));
    let lock = Arc::new(Mutex::new(0));
    let held = Arc::new(Barrier::new(2));
    let (l, h) = (lock.clone(), held.clone());
    thread::spawn(move || hold_forever(l, h));
    held.wait();
    thread::spawn(move || wait_on_mutex(lock));
    thread::sleep(Duration::from_millis(100));
    println!("returning");
    std::mem::forget(sender); // nobody will ever send
}

fn clean() {
    let (sender, receiver) = mpsc::channel::<u32>();
    let consumer = thread::spawn(move || receiver.iter().sum::<u32>());
    let total = Arc::new(Mutex::new(0u32));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (total, sender) = (total.clone(), sender.clone());
            thread::spawn(move || {
                for k in 0..1000 {
                    *total.lock().unwrap() += 1;
                    sender.send(i * k % 7).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    drop(sender);
    let received = consumer.join().unwrap();
    println!("total {} received {}", *total.lock().unwrap(), received);
}

fn deadlock() {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let both = Arc::new(Barrier::new(2));
    let (a1, b1, both1) = (a.clone(), b.clone(), both.clone());
    let forward = thread::spawn(move || {
        let _x = a1.lock().unwrap();
        both1.wait();
        let _y = b1.lock().unwrap();
    });
    let backward = thread::spawn(move || {
        let _y = b.lock().unwrap();
        both.wait();
        let _x = a.lock().unwrap();
    });
    forward.join().unwrap();
    backward.join().unwrap();
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("leak") => leak(),
        Some("clean") => clean(),
        Some("deadlock") => deadlock(),
        _ => eprintln!("usage: waits leak|clean|deadlock"),
    }
}
