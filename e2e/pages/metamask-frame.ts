/** A widget embedded by the test dApp from another origin: asks for the accounts when the parent says so. */
type Ethereum = { request(args: { method: string }): Promise<unknown> };

window.addEventListener('message', (event) => {
  if (event.data !== 'connect') return;
  const ethereum = (window as unknown as { ethereum: Ethereum }).ethereum;
  void ethereum.request({ method: 'eth_requestAccounts' }).then(
    (result) => parent.postMessage({ from: 'duet-test-frame', outcome: { result } }, '*'),
    (error: { code: unknown; message: string }) => parent.postMessage({ from: 'duet-test-frame', outcome: { error: { code: error.code, message: error.message } } }, '*'),
  );
});
