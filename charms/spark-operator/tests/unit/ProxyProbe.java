import java.net.HttpURLConnection;
import java.net.URL;

/**
 * Fetch each URL given as any JVM code does (URLConnection and the default ProxySelector, which
 * reads http.proxyHost, https.proxyHost and http.nonProxyHosts), and print what happened. The
 * test that runs this reads the proxy's own log to know which requests went through it.
 */
public class ProxyProbe {
    public static void main(String[] args) {
        for (String target : args) {
            String result;
            try {
                HttpURLConnection connection = (HttpURLConnection) new URL(target).openConnection();
                connection.setConnectTimeout(1000);
                connection.setReadTimeout(1000);
                result = connection.getResponseCode() + " usingProxy=" + connection.usingProxy();
            } catch (Exception e) {
                result = e.getClass().getSimpleName();
            }
            System.out.println(target + " " + result);
        }
    }
}
