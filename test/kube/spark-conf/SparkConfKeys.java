import org.apache.spark.internal.config.ConfigEntry$;

/**
 * Prints, for each key given, whether Spark defines it: "key<TAB>true|false".
 * Spark registers a key when the object that declares it is loaded, so the
 * objects that declare the keys sparklogs documents are loaded first.
 */
public class SparkConfKeys {
  public static void main(String[] keys) throws Exception {
    String[] declaring = {
      "org.apache.spark.internal.config.package$",
      "org.apache.spark.internal.config.UI$",
      "org.apache.spark.internal.config.History$",
      "org.apache.spark.deploy.k8s.Config$",
    };
    for (String c : declaring) {
      Class.forName(c).getField("MODULE$").get(null);
    }
    for (String k : keys) {
      System.out.println(k + "\t" + (ConfigEntry$.MODULE$.findEntry(k) != null));
    }
  }
}
